//! Assembling ringlb from its settings: the fleet, its provisioner, and the
//! Pingora services (proxy, admin, supervisor) in one `Server`.

use std::net::SocketAddr;
use std::sync::Arc;

use pingora::server::Server;
use pingora::services::background::background_service;
use pingora_core::listeners::{L4BufferSettings, ListenerConfig};
use pingora_core::services::listening::Service;
use tokio::sync::mpsc;

use crate::admin::{AccessPolicy, AdminApi, AdminService, HeaderLimits};
use crate::clients::{ConnGate, Deadlines, Guarded, ADMIN_MAX_CONNECTIONS};
use crate::config::{ProvisionerKind, Settings};
use crate::fleet::{Fleet, FleetOptions};
use crate::health::Supervisor;
use crate::metrics::Metrics;
use crate::provision::docker::DockerOptions;
use crate::provision::process::ProcessOptions;
use crate::provision::{DockerProvisioner, ProcessProvisioner, Provisioner, StaticProvisioner};
use crate::proxy::{AccessLog, RingProxy};
use crate::ring::RingSpec;
use crate::upgrade::Handover;

/// Handles `main` keeps: to hand over on SIGQUIT and to clean up after
/// the server stops.
pub struct Running {
    pub provisioner: Arc<dyn Provisioner>,
    pub fleet: Arc<Fleet>,
    pub handover: Arc<Handover>,
}

/// Builds the provisioner named in config.
pub fn provisioner(
    settings: &Settings,
) -> Result<
    (
        Arc<dyn Provisioner>,
        mpsc::UnboundedReceiver<crate::provision::Exited>,
    ),
    String,
> {
    let (exits_tx, exits_rx) = mpsc::unbounded_channel();
    let p: Arc<dyn Provisioner> = match &settings.replicas.provisioner {
        ProvisionerKind::Static => Arc::new(StaticProvisioner::new()),
        ProvisionerKind::Docker(docker) => Arc::new(DockerProvisioner::new(
            DockerOptions {
                settings: docker.clone(),
                start_timeout: settings.replicas.start_timeout,
                stop_timeout: settings.replicas.stop_timeout,
            },
            exits_tx,
        )?),
        ProvisionerKind::Process {
            binary,
            bind,
            threads,
        } => {
            let binary = match binary {
                Some(b) => b.clone(),
                None => ProcessProvisioner::default_binary()
                    .ok_or("ringlb-backend not found next to ringlb; set ringlb.replicas.binary")?,
            };
            let options = ProcessOptions {
                binary,
                bind: *bind,
                threads: *threads,
                start_timeout: settings.replicas.start_timeout,
                stop_timeout: settings.replicas.stop_timeout,
            };
            Arc::new(
                ProcessProvisioner::new(options, exits_tx)
                    .map_err(|e| format!("cannot start the replica supervisor: {e}"))?,
            )
        }
    };
    Ok((p, exits_rx))
}

/// A TCP listener whose connections get `read_buffer` bytes of userspace
/// read buffer (Pingora's `add_tcp` always gives 64 KiB, which is most of
/// what an idle connection costs; see `clients.read_buffer_bytes`).
fn client_listener(addr: SocketAddr, read_buffer: usize) -> ListenerConfig {
    ListenerConfig::tcp(addr.to_string()).l4_buffer(L4BufferSettings::default().read(read_buffer))
}

/// Adds ringlb's services to `server`.
pub fn install(server: &mut Server, settings: &Settings) -> Result<Running, String> {
    // Before anything is started: a log that cannot be opened stops start-up.
    let access_log = settings
        .access_log
        .as_ref()
        .map(|target| {
            AccessLog::open(target)
                .map_err(|e| format!("ringlb.access_log.path: cannot open {target}: {e}"))
        })
        .transpose()?;
    let (provisioner, exits) = provisioner(settings)?;
    let metrics = Arc::new(Metrics::new());
    let spec = RingSpec {
        slots: settings.ring.slots,
        vnodes: settings.ring.vnodes,
        family: settings.ring.family.build(),
    };
    let fleet = Arc::new(Fleet::new(
        spec,
        provisioner.clone(),
        FleetOptions {
            max_replicas: settings.replicas.max,
            start_timeout: settings.replicas.start_timeout,
            drain_timeout: settings.replicas.drain_timeout,
            health: settings.health.clone(),
        },
        metrics.clone(),
    ));
    let (suspects_tx, suspects_rx) = mpsc::channel(64);
    let handover = Arc::new(Handover::new(crate::upgrade::pid_file(
        &server.configuration.upgrade_sock,
    )));
    let access = AccessPolicy::new(
        settings.admin.token.clone(),
        settings.admin.access.allow_remote_changes,
        provisioner.local_gateways(),
    );
    let api = Arc::new(AdminApi::new(
        fleet.clone(),
        settings.admin.max_body_bytes,
        access,
        metrics.clone(),
    ));

    let supervisor = background_service(
        "ringlb supervisor",
        Supervisor::new(
            fleet.clone(),
            settings.replicas.initial.clone(),
            settings.health.interval,
            exits,
            suspects_rx,
            handover.clone(),
        ),
    );

    let proxy_logic = RingProxy::new(
        settings,
        fleet.ring(),
        settings.admin.on_proxy_port.then(|| api.clone()),
        suspects_tx,
        metrics.clone(),
        access_log,
        handover.clone(),
    );
    let c = &settings.clients;
    let deadlines = Deadlines {
        header: c.header_timeout,
        idle: c.idle_timeout,
    };
    let proxy_app = Guarded::new(
        "proxy",
        pingora_proxy::http_proxy(&server.configuration, proxy_logic),
        ConnGate::new(c.max_connections.unwrap_or(usize::MAX), c.max_per_client),
        deadlines,
    )
    .counted_in(metrics.clone());
    let mut proxy = Service::new("ringlb proxy".to_string(), proxy_app);
    proxy.add_listener(client_listener(settings.listen, c.read_buffer_bytes));

    let admin_app = Guarded::new(
        "admin",
        AdminService::new(
            api,
            HeaderLimits {
                max_headers: c.max_headers,
                max_header_bytes: c.max_header_bytes,
            },
        ),
        ConnGate::new(ADMIN_MAX_CONNECTIONS, None),
        deadlines,
    );
    let mut admin = Service::new("ringlb admin".to_string(), admin_app);
    admin.add_listener(client_listener(settings.admin.listen, c.read_buffer_bytes));
    admin.threads = Some(1);

    let supervisor = server.add_service(supervisor);
    let proxy = server.add_service(proxy);
    let admin = server.add_service(admin);
    // Serve only once the initial replicas answered.
    proxy.add_dependency(&supervisor);
    admin.add_dependency(&supervisor);
    Ok(Running {
        provisioner,
        fleet,
        handover,
    })
}
