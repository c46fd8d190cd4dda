//! Who may change the fleet: one rule for `/add` and `/rm` on both ports.
//!
//! - With an admin token configured, a change must carry
//!   `Authorization: Bearer <token>` (401 otherwise), from anywhere.
//! - Without one, only callers on this host may change the fleet (403 for
//!   others), unless `admin.allow_remote_changes` says otherwise. "On this
//!   host" is a loopback address, or a gateway of ringlb's own Docker
//!   network: in the compose deployment a `curl` on the host reaches ringlb
//!   through Docker's port forwarding and arrives from that gateway, and
//!   the port is published on the host's loopback only.
//!
//! Reading (`/rep`, `/get`, `/metrics`) stays open. The address is the TCP
//! peer's; headers like `X-Forwarded-For` are never believed.

use std::net::IpAddr;

use crate::config::AdminToken;

/// The caller of an admin endpoint, as the transport saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The TCP peer's address (`None`: not an IP connection).
    pub ip: Option<IpAddr>,
    /// The credentials of an `Authorization: Bearer <credentials>` header.
    pub bearer: Option<Vec<u8>>,
    /// A browser sent it from another site (its `Origin` names another
    /// host than the request's `Host`): a page the user happens to have
    /// open must not change the fleet, whatever address it comes from.
    pub cross_site: bool,
}

impl Caller {
    /// A caller from its peer address and `Authorization` header value.
    pub fn new(ip: Option<IpAddr>, authorization: Option<&[u8]>) -> Caller {
        Caller {
            ip,
            bearer: authorization.and_then(bearer).map(<[u8]>::to_vec),
            cross_site: false,
        }
    }

    /// Marks the caller cross-site when `origin` (the `Origin` header)
    /// is present and names another host:port than `host` (the `Host`
    /// header), or is `null`.
    pub fn with_origin(mut self, origin: Option<&[u8]>, host: Option<&[u8]>) -> Caller {
        self.cross_site = origin.is_some_and(|o| {
            let authority = o.split(|b| *b == b'/').nth(2);
            authority.is_none() || authority != host
        });
        self
    }
}

/// The credentials of `Bearer <credentials>` (scheme case-insensitive).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
}

/// Why a change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// A token is configured and the caller sent none, or another one.
    Token,
    /// No token is configured and the caller is not on this host.
    Remote,
    /// A browser request from another site.
    CrossSite,
}

/// The rule, configured once.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    token: Option<AdminToken>,
    allow_remote: bool,
    /// Addresses that count as this host besides loopback (Docker
    /// gateways).
    local: Vec<IpAddr>,
}

impl AccessPolicy {
    pub fn new(token: Option<AdminToken>, allow_remote: bool, local: Vec<IpAddr>) -> Self {
        if token.is_some() && allow_remote {
            log::warn!(
                "admin.allow_remote_changes has no effect with an admin token: every change needs the token"
            );
        }
        let local: Vec<IpAddr> = local.into_iter().map(|ip| ip.to_canonical()).collect();
        match (&token, allow_remote) {
            (Some(_), _) => log::info!("admin changes (/add, /rm) need the admin token"),
            (None, true) => log::warn!(
                "admin changes (/add, /rm) are open to any host (admin.allow_remote_changes) and no token is set"
            ),
            (None, false) => log::info!(
                "admin changes (/add, /rm) only from this host (loopback{})",
                local.iter().map(|ip| format!(", {ip}")).collect::<String>()
            ),
        }
        AccessPolicy {
            token,
            allow_remote,
            local,
        }
    }

    /// Whether `caller` may change the fleet.
    pub fn allows_change(&self, caller: &Caller) -> Result<(), Denied> {
        if caller.cross_site {
            return Err(Denied::CrossSite);
        }
        if let Some(token) = &self.token {
            return match &caller.bearer {
                Some(sent) if token.matches(sent) => Ok(()),
                _ => Err(Denied::Token),
            };
        }
        if self.allow_remote || caller.ip.is_some_and(|ip| self.is_local(ip)) {
            Ok(())
        } else {
            Err(Denied::Remote)
        }
    }

    fn is_local(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_loopback() || self.local.contains(&ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "s3cret-s3cret-s3cret";

    #[test]
    fn a_browser_on_another_site_cannot_change_the_fleet() {
        let open = AccessPolicy::new(None, false, Vec::new());
        let local = |origin: Option<&str>, host: Option<&str>| {
            caller("127.0.0.1", None)
                .with_origin(origin.map(str::as_bytes), host.map(str::as_bytes))
        };
        // The dashboard's own fetch: same origin.
        let same = local(Some("http://127.0.0.1:5050"), Some("127.0.0.1:5050"));
        assert_eq!(open.allows_change(&same), Ok(()));
        // curl sends no Origin.
        assert_eq!(
            open.allows_change(&local(None, Some("localhost:5000"))),
            Ok(())
        );
        for origin in ["http://evil.example", "http://127.0.0.1:8080", "null"] {
            let c = local(Some(origin), Some("127.0.0.1:5050"));
            assert_eq!(open.allows_change(&c), Err(Denied::CrossSite), "{origin}");
        }
    }

    fn caller(ip: &str, auth: Option<&str>) -> Caller {
        Caller::new(Some(ip.parse().unwrap()), auth.map(str::as_bytes))
    }

    #[test]
    fn without_a_token_only_this_host_changes() {
        let p = AccessPolicy::new(None, false, vec!["172.18.0.1".parse().unwrap()]);
        for local in [
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "::ffff:127.0.0.1",
            "172.18.0.1",
        ] {
            assert_eq!(p.allows_change(&caller(local, None)), Ok(()), "{local}");
        }
        for remote in ["10.0.0.5", "172.18.0.2", "::ffff:10.0.0.5", "2001:db8::1"] {
            assert_eq!(
                p.allows_change(&caller(remote, None)),
                Err(Denied::Remote),
                "{remote}"
            );
        }
        assert_eq!(p.allows_change(&Caller::default()), Err(Denied::Remote));
        let open = AccessPolicy::new(None, true, vec![]);
        assert_eq!(open.allows_change(&caller("10.0.0.5", None)), Ok(()));
    }

    #[test]
    fn with_a_token_everyone_needs_it() {
        let t = AdminToken::parse(TOKEN.as_bytes()).unwrap();
        let p = AccessPolicy::new(Some(t), false, vec![]);
        let good = format!("Bearer {TOKEN}");
        let lower = format!("bearer {TOKEN}");
        assert_eq!(p.allows_change(&caller("10.0.0.5", Some(&good))), Ok(()));
        assert_eq!(p.allows_change(&caller("127.0.0.1", Some(&lower))), Ok(()));
        for bad in [
            None,
            Some("Bearer"),
            Some("Bearer "),
            Some("Bearer wrong-wrong-wrong-wrong"),
            Some(TOKEN),
            Some("Basic czNjcmV0"),
        ] {
            assert_eq!(
                p.allows_change(&caller("127.0.0.1", bad)),
                Err(Denied::Token),
                "{bad:?}"
            );
        }
    }
}
