//! Where a webhook may point: `https://` anywhere public; plain `http://` and loopback, private
//! or link-local addresses only when the operator allows them; the cloud metadata address never.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The scheme, host and port of a webhook URL, or why it is not one.
pub fn parse_url(url: &str) -> Result<(bool, String, u16), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let https = match parsed.scheme() {
        "https" => true,
        "http" => false,
        other => return Err(format!("the scheme must be https (or http), not {other}")),
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a webhook URL carries no credentials".into());
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("the URL names no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    Ok((https, host, port))
}

/// True for the cloud metadata addresses, never a target.
fn is_metadata(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4 == Ipv4Addr::new(169, 254, 169, 254),
        IpAddr::V6(v6) => v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    }
}

/// True for addresses inside this machine or its private networks.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]) // CGNAT
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
        }
    }
}

/// Whether a target address may be delivered to.
pub fn check_address(ip: IpAddr, allow_private: bool) -> Result<(), String> {
    if is_metadata(ip) {
        return Err(format!("{ip} is the cloud metadata address"));
    }
    if is_private(ip) && !allow_private {
        return Err(format!(
            "{ip} is a loopback or private address (allowed only with --webhook-allow-private)"
        ));
    }
    Ok(())
}

/// Checks a target before a delivery: the scheme, and every address the host resolves to now.
pub async fn check(url: &str, allow_private: bool) -> Result<(), String> {
    let (https, host, port) = parse_url(url)?;
    if !https && !allow_private {
        return Err("plain http targets are allowed only with --webhook-allow-private".into());
    }
    let addrs: Vec<_> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    for addr in addrs {
        check_address(addr.ip(), allow_private)?;
    }
    Ok(())
}

/// The dispatcher's name resolution: every address a target's host resolves to is checked
/// ([`check_address`]) at the moment of connecting, so a name that resolved to a public
/// address when [`check`] ran cannot be re-pointed at a private one for the connection itself
/// (DNS rebinding). URLs naming an address directly are never resolved; [`check`] covers them.
#[derive(Clone, Copy, Debug)]
pub struct CheckedResolver {
    /// Loopback and private addresses are allowed (`--webhook-allow-private`).
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            for addr in &addrs {
                check_address(addr.ip(), allow_private).map_err(|why| {
                    std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        format!("{} resolves to a refused address: {why}", name.as_str()),
                    )
                })?;
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_a_web_scheme_and_a_host() {
        assert_eq!(
            parse_url("https://hooks.example.com/x").unwrap(),
            (true, "hooks.example.com".into(), 443)
        );
        assert_eq!(
            parse_url("http://127.0.0.1:8080/in").unwrap(),
            (false, "127.0.0.1".into(), 8080)
        );
        assert_eq!(parse_url("http://[::1]:9/").unwrap().1, "::1");
        for bad in [
            "ftp://x/",
            "https://user:pw@x/",
            "not a url",
            "file:///etc/passwd",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_addresses_need_the_operators_leave_and_metadata_never() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(check_address(loopback, false).is_err());
        assert!(check_address(loopback, true).is_ok());
        for private in [
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.1.1",
            "::1",
            "fd12::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(
                check_address(private.parse().unwrap(), false).is_err(),
                "{private}"
            );
        }
        for metadata in ["169.254.169.254", "fd00:ec2::254"] {
            assert!(
                check_address(metadata.parse().unwrap(), true).is_err(),
                "{metadata}"
            );
        }
        assert!(check_address("93.184.216.34".parse().unwrap(), false).is_ok());
    }

    #[tokio::test]
    async fn the_connections_own_resolution_refuses_private_addresses() {
        use reqwest::dns::Resolve;
        let name = || "localhost".parse::<reqwest::dns::Name>().unwrap();
        let refused = CheckedResolver {
            allow_private: false,
        };
        let err = refused.resolve(name()).await.err().expect("refused");
        assert!(err.to_string().contains("refused address"), "{err}");
        let allowed = CheckedResolver {
            allow_private: true,
        };
        let addrs: Vec<_> = allowed.resolve(name()).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }

    #[tokio::test]
    async fn plain_http_and_loopback_are_refused_by_default() {
        assert!(check("http://127.0.0.1:1/", false).await.is_err());
        assert!(check("https://127.0.0.1:1/", false).await.is_err());
        assert!(check("http://127.0.0.1:1/", true).await.is_ok());
    }
}
