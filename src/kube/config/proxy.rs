//! Which proxy the API server connection goes through: the cluster's `proxy-url`, else the
//! environment with Go's `ProxyFromEnvironment` and `NO_PROXY` rules (what client-go uses),
//! decided once at load time because there is one server.

use super::error::LoadError;
use super::types::ProxyChoice;
use super::Environment;

/// Checks that ureq can use the proxy URL, so a typo fails at startup.
pub(super) fn validate_proxy(choice: ProxyChoice) -> Result<ProxyChoice, LoadError> {
    let url = if choice.url.contains("://") {
        choice.url.clone()
    } else {
        // Go's net/http assumes http:// for a bare host:port.
        format!("http://{}", choice.url)
    };
    let invalid = |reason: String| LoadError::InvalidProxy {
        proxy: ProxyChoice {
            url: url.clone(),
            origin: String::new(),
        }
        .redacted(),
        origin: choice.origin.clone(),
        reason,
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(invalid(
            "only http:// and https:// proxies are supported (no SOCKS)".to_string(),
        ));
    }
    ureq::Proxy::new(&url).map_err(|e| invalid(e.to_string()))?;
    Ok(ProxyChoice {
        url,
        origin: choice.origin,
    })
}

/// The proxy from the environment for `server`, following Go's `ProxyFromEnvironment`
/// (what client-go uses): `HTTPS_PROXY` for https servers, `HTTP_PROXY` for http ones,
/// never for `localhost` or loopback addresses, and not when `NO_PROXY` matches.
pub(super) fn proxy_from_env(
    server: &str,
    env: &Environment,
) -> Result<Option<ProxyChoice>, LoadError> {
    let (var, origin) = if server.starts_with("https://") {
        (&env.https_proxy, "HTTPS_PROXY")
    } else {
        (&env.http_proxy, "HTTP_PROXY")
    };
    let Some(url) = var.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let (host, port) = server_host_port(server);
    if host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
    {
        return Ok(None);
    }
    if let Some(no_proxy) = &env.no_proxy {
        if no_proxy_matches(no_proxy, &host, port) {
            return Ok(None);
        }
    }
    validate_proxy(ProxyChoice {
        url: url.to_string(),
        origin: origin.to_string(),
    })
    .map(Some)
}

/// Host (lower case, IPv6 without brackets) and port of a normalized server URL.
fn server_host_port(server: &str) -> (String, u16) {
    let (rest, default_port) = match server.split_once("://") {
        Some(("http", rest)) => (rest, 80),
        Some((_, rest)) => (rest, 443),
        None => (server, 443),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            None => (v6, None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = port.and_then(|p| p.parse().ok()).unwrap_or(default_port);
    (host.to_ascii_lowercase(), port)
}

/// Go's `NO_PROXY` rules: comma-separated; `*` matches everything; an IP or CIDR matches
/// IP hosts; `name` matches the name and its subdomains, `.name` (or `*.name`) only
/// subdomains; an entry with `:port` matches only that port.
fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip = host.parse::<std::net::IpAddr>().ok();
    for entry in list.split(',') {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return true;
        }
        if let Some((net, bits)) = entry.split_once('/') {
            if let (Some(ip), Ok(net), Ok(bits)) = (host_ip, net.parse(), bits.parse::<u8>()) {
                if cidr_contains(net, bits, ip) {
                    return true;
                }
            }
            continue;
        }
        if let Ok(ip) = entry
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
        {
            if host_ip == Some(ip) {
                return true;
            }
            continue;
        }
        // `[v6]:port` or `name:port`.
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((n, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => (
                n.trim_matches(|c| c == '[' || c == ']'),
                p.parse::<u16>().ok(),
            ),
            _ => (entry.as_str(), None),
        };
        if entry_port.is_some_and(|p| p != port) {
            continue;
        }
        if let Ok(ip) = name.parse::<std::net::IpAddr>() {
            if host_ip == Some(ip) {
                return true;
            }
            continue;
        }
        let name = name.strip_prefix('*').unwrap_or(name).trim_end_matches('.');
        let matched = if let Some(suffix) = name.strip_prefix('.') {
            host.ends_with(&format!(".{suffix}"))
        } else {
            host == name || host.ends_with(&format!(".{name}"))
        };
        if matched {
            return true;
        }
    }
    false
}

fn cidr_contains(net: std::net::IpAddr, bits: u8, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{explicit, no_env, TempDir};
    use super::super::{load_with, ConfigOptions};
    use super::*;

    #[test]
    fn no_proxy_follows_go_rules() {
        let m = no_proxy_matches;
        assert!(m("*", "anything", 443));
        assert!(m("example.com", "example.com", 443));
        assert!(m(" example.com ", "api.example.com", 443));
        assert!(!m("example.com", "badexample.com", 443));
        assert!(m(".example.com", "api.example.com", 443));
        assert!(!m(".example.com", "example.com", 443));
        assert!(m("*.example.com", "api.example.com", 443));
        assert!(m("example.com:6443", "example.com", 6443));
        assert!(!m("example.com:6443", "example.com", 443));
        assert!(m("10.0.0.0/8", "10.96.0.1", 443));
        assert!(!m("10.0.0.0/8", "11.0.0.1", 443));
        assert!(m("fd00::/8", "fd00::1", 443));
        assert!(m("192.168.1.1", "192.168.1.1", 443));
        assert!(!m("192.168.1.1", "192.168.1.2", 443));
        assert!(!m("", "example.com", 443));
        assert!(m("a.b, EXAMPLE.com", "Example.COM", 443));
    }

    #[test]
    fn proxy_is_chosen_from_kubeconfig_then_environment() {
        let dir = TempDir::new("kc");
        let kc = dir.write(
            "config",
            r#"
clusters:
- {name: p, cluster: {server: "https://api.example:6443", proxy-url: "http://user:pw@proxy.corp:3128"}}
- {name: e, cluster: {server: "https://api.example:6443"}}
- {name: l, cluster: {server: "https://127.0.0.1:6443"}}
- {name: h, cluster: {server: "http://api.example:8080"}}
- {name: bad, cluster: {server: "https://k", proxy-url: "socks5://proxy:1080"}}
contexts:
- {name: p, context: {cluster: p}}
- {name: e, context: {cluster: e}}
- {name: l, context: {cluster: l}}
- {name: h, context: {cluster: h}}
- {name: bad, context: {cluster: bad}}
"#,
        );
        let env = Environment {
            https_proxy: Some("envproxy:8080".to_string()),
            http_proxy: Some("http://plainproxy:8080".to_string()),
            ..no_env()
        };
        let load = |ctx: &str, env: &Environment| {
            let opts = ConfigOptions {
                context: Some(ctx.to_string()),
                ..explicit(&kc)
            };
            load_with(&opts, env)
        };
        let cfg = load("p", &env).unwrap();
        let proxy = cfg.proxy.unwrap();
        assert_eq!(proxy.url, "http://user:pw@proxy.corp:3128");
        assert!(proxy.origin.contains("proxy-url"));
        assert_eq!(proxy.redacted(), "http://<redacted>@proxy.corp:3128");
        assert!(!format!("{proxy:?}").contains("pw"));

        let proxy = load("e", &env).unwrap().proxy.unwrap();
        assert_eq!(proxy.url, "http://envproxy:8080");
        assert_eq!(proxy.origin, "HTTPS_PROXY");
        assert!(
            load("l", &env).unwrap().proxy.is_none(),
            "loopback is never proxied"
        );
        let proxy = load("h", &env).unwrap().proxy.unwrap();
        assert_eq!(proxy.origin, "HTTP_PROXY");
        let no = Environment {
            no_proxy: Some("localhost,.example".to_string()),
            ..env.clone()
        };
        assert!(load("e", &no).unwrap().proxy.is_none());
        assert!(load("e", &no_env()).unwrap().proxy.is_none());
        let err = load("bad", &env).unwrap_err();
        assert!(matches!(err, LoadError::InvalidProxy { .. }), "{err:?}");
    }
}
