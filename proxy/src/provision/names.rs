//! Replica hostnames: what is accepted, and how missing ones are generated.

use rand::Rng;

/// Longest accepted hostname (a DNS label).
pub const MAX_HOSTNAME: usize = 63;

/// A process or container replica's hostname: one RFC 1123 label (letters,
/// digits and `-`, starting and ending with a letter or digit; 1 to 63
/// characters), so it is also a valid DNS name and container name.
pub fn check_hostname(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_HOSTNAME {
        return Err(format!(
            "invalid hostname {name:?}: must be 1 to {MAX_HOSTNAME} characters"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "invalid hostname {name:?}: character {c:?} is not allowed (an RFC 1123 label: letters, digits and '-')"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!(
            "invalid hostname {name:?}: must start and end with a letter or digit (RFC 1123)"
        ));
    }
    Ok(())
}

/// A static replica's hostname: `host:port`, where host is a hostname or an
/// IP address.
pub fn check_static_address(name: &str) -> Result<(), String> {
    let bad = || format!("invalid static replica {name:?}: expected host:port");
    if name.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let (host, port) = name.rsplit_once(':').ok_or_else(bad)?;
    port.parse::<u16>().map_err(|_| bad())?;
    check_hostname(host).map_err(|_| bad())
}

/// A fresh hostname that is not in `taken`: `replica<6 random digits>`, or
/// `None` after 1,000 collisions in a row (the fleet is capped far below the
/// 900,000 names, so that means something is wrong, not bad luck).
pub fn generate(taken: &dyn Fn(&str) -> bool) -> Option<String> {
    let mut rng = rand::rng();
    (0..1000)
        .map(|_| format!("replica{}", rng.random_range(100_000..1_000_000)))
        .find(|name| !taken(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        assert!(check_hostname("Server0").is_ok());
        assert!(check_hostname("a-b-9").is_ok());
        assert!(check_hostname("9").is_ok());
        for bad in ["-lead", "trail-", "-", "a_b", "a.b"] {
            assert!(check_hostname(bad).is_err(), "{bad}");
        }
        assert!(check_hostname("").is_err());
        assert!(check_hostname(&"x".repeat(64)).is_err());
        assert!(check_hostname(&"x".repeat(63)).is_ok());
        assert!(check_hostname("bad name").is_err());
        assert!(check_hostname("a/b").is_err());
        assert!(check_hostname("ünï").is_err());
    }

    #[test]
    fn static_addresses() {
        assert!(check_static_address("127.0.0.1:8080").is_ok());
        assert!(check_static_address("[::1]:8080").is_ok());
        assert!(check_static_address("web-1:80").is_ok());
        assert!(check_static_address("web-1").is_err());
        assert!(check_static_address("web-1:99999").is_err());
    }

    #[test]
    fn generated_names_are_valid_and_free() {
        let n = generate(&|s| s == "replica123456").unwrap();
        assert!(check_hostname(&n).is_ok());
        assert_eq!(generate(&|_| true), None);
        assert!(n.starts_with("replica"));
    }
}
