//! Process limits: raise the open-file soft limit to the hard limit, as
//! nginx and HAProxy do, so thousands of concurrent clients do not hit
//! `EMFILE`.

/// Below this many descriptors, ringlb warns that large client counts will fail.
const LOW: u64 = 16_384;

/// Raises `RLIMIT_NOFILE`'s soft limit to its hard limit, logs the result
/// and returns the soft limit now in force (`None` if it cannot be read).
pub fn raise_nofile() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            log::warn!(
                "cannot read the open-file limit: {}",
                std::io::Error::last_os_error()
            );
            return None;
        }
        let before = lim.rlim_cur;
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                log::warn!(
                    "cannot raise the open-file limit from {before}: {}",
                    std::io::Error::last_os_error()
                );
                lim.rlim_cur = before;
            }
        }
        if lim.rlim_cur < LOW {
            log::warn!(
                "open-file limit is {} (hard limit {}): fewer than {LOW} concurrent connections can be served; raise it with `ulimit -Hn`",
                lim.rlim_cur,
                lim.rlim_max
            );
        } else {
            log::info!("open-file limit {} (was {before})", lim.rlim_cur);
        }
        Some(lim.rlim_cur)
    }
}
