//! The client's IP address: from the socket, or from a forwarding header when the socket peer
//! is a configured trusted proxy. Anonymized (host part zeroed: /24 for IPv4, /48 for IPv6)
//! before it enters the request context, so no sink ever sees a full address.
//!
//! The socket peer comes from a [`PeerAddr`] request extension, axum's
//! `ConnectInfo<SocketAddr>` (feature `axum`, serve with
//! `into_make_service_with_connect_info::<SocketAddr>()`), or tonic's `TcpConnectInfo`
//! (feature `tonic`). Without one the client IP is unknown.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use http::{HeaderMap, HeaderName, request};

/// The socket peer's address, as a request extension, for servers other than axum and tonic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// An IP network (`10.0.0.0/8`, `fd00::/8`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// A network; `None` when the prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Why an [`IpNet`] did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpNetError(String);

impl fmt::Display for IpNetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an IP network (write `10.0.0.0/8`, `fd00::/8` or one address)", self.0)
    }
}

impl std::error::Error for IpNetError {}

impl FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || IpNetError(text.to_owned());
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().map_err(|_| error())?)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| error())?;
        let prefix = prefix.unwrap_or(if addr.is_ipv4() { 32 } else { 128 });
        IpNet::new(addr, prefix).ok_or_else(error)
    }
}

/// Which forwarding header a trusted proxy appends the client's address to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// How the layer learns the client's IP address. The default, [`ClientIp::socket`], trusts
/// no header at all.
///
/// With trusted proxies, when the socket peer is one of them, the forwarding header is read
/// from its right end (the hop nearest this server) leftwards, skipping trusted proxies: the
/// first address that is not a trusted proxy is the client. A malformed hop makes the client
/// unknown rather than trusting what is left of it; a header from an untrusted peer is ignored.
#[derive(Debug, Clone, Default)]
pub struct ClientIp {
    proxies: Vec<IpNet>,
    header: ForwardedHeader,
    disabled: bool,
}

/// At most this many hops of a forwarding header are examined (from the right).
const MAX_HOPS: usize = 32;

impl ClientIp {
    /// The socket peer's address (the default).
    pub fn socket() -> Self {
        Self::default()
    }

    /// Never reports a client IP.
    pub fn none() -> Self {
        Self { disabled: true, ..Self::default() }
    }

    /// Trusts these proxies' forwarding header.
    pub fn trust_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        self.proxies.extend(proxies);
        self
    }

    /// The forwarding header the trusted proxies set (default: `X-Forwarded-For`).
    pub fn header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|net| net.contains(ip))
    }

    /// The peer, the client IP (anonymized) and whether the request came via a trusted proxy.
    pub(crate) fn resolve(&self, request: &request::Parts) -> (Option<SocketAddr>, Option<IpAddr>, bool) {
        let peer = peer_addr(request);
        if self.disabled {
            return (peer, None, false);
        }
        let Some(peer_ip) = peer.map(|p| canonical(p.ip())) else { return (None, None, false) };
        if !self.trusted(peer_ip) {
            return (peer, Some(tally_runtime::privacy::anonymize(peer_ip)), false);
        }
        let hops = match self.header {
            ForwardedHeader::XForwardedFor => hops(&request.headers, &X_FORWARDED_FOR, ',', parse_xff),
            ForwardedHeader::Forwarded => hops(&request.headers, &http::header::FORWARDED, ',', parse_forwarded),
        };
        let mut client = Some(peer_ip);
        for hop in hops.into_iter().rev().take(MAX_HOPS) {
            match hop {
                Some(ip) if self.trusted(ip) => client = Some(ip),
                Some(ip) => {
                    client = Some(ip);
                    break;
                }
                None => {
                    client = None;
                    break;
                }
            }
        }
        (peer, client.map(tally_runtime::privacy::anonymize), true)
    }
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Every hop of a list header, in order, across its lines; `None` for one that does not parse.
fn hops(
    headers: &HeaderMap,
    name: &HeaderName,
    separator: char,
    parse: fn(&str) -> Option<IpAddr>,
) -> Vec<Option<IpAddr>> {
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        match std::str::from_utf8(value.as_bytes()) {
            Ok(text) => out.extend(text.split(separator).map(|hop| parse(hop.trim()))),
            Err(_) => out.push(None),
        }
    }
    out
}

/// An address, `address:port` or `[v6]:port`.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    let inner = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'))?;
    inner.parse::<IpAddr>().ok().map(canonical)
}

fn parse_xff(hop: &str) -> Option<IpAddr> {
    parse_address(hop)
}

/// The `for=` of one RFC 7239 element (`for=192.0.2.60;proto=http;by=203.0.113.43`).
fn parse_forwarded(element: &str) -> Option<IpAddr> {
    element
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
        .and_then(|(_, value)| parse_address(value))
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn peer_addr(request: &request::Parts) -> Option<SocketAddr> {
    if let Some(PeerAddr(addr)) = request.extensions.get::<PeerAddr>() {
        return Some(*addr);
    }
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) = request.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(*addr);
    }
    #[cfg(feature = "tonic")]
    if let Some(info) = request.extensions.get::<tonic::transport::server::TcpConnectInfo>() {
        return info.remote_addr();
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(peer: &str, headers: &[(&str, &str)]) -> request::Parts {
        let mut builder = http::Request::builder().extension(PeerAddr(peer.parse().unwrap()));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn proxies() -> ClientIp {
        ClientIp::socket().trust_proxies(["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()])
    }

    #[test]
    fn socket_only_by_default_and_anonymized() {
        let parts = request("203.0.113.77:5000", &[("x-forwarded-for", "198.51.100.9")]);
        let (_, ip, via) = ClientIp::socket().resolve(&parts);
        assert_eq!(ip, Some("203.0.113.0".parse().unwrap()));
        assert!(!via);
        let (_, ip, _) = proxies().resolve(&parts);
        assert_eq!(ip, Some("203.0.113.0".parse().unwrap()), "untrusted peer: header ignored");
    }

    #[test]
    fn rightmost_untrusted_hop_through_trusted_proxies() {
        let parts = request("10.1.2.3:80", &[("x-forwarded-for", "6.6.6.6, 198.51.100.9, 10.9.9.9")]);
        let (_, ip, via) = proxies().resolve(&parts);
        assert_eq!(ip, Some("198.51.100.0".parse().unwrap()));
        assert!(via);
        let parts = request("[::1]:80", &[("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https")]);
        let (_, ip, _) = proxies().header(ForwardedHeader::Forwarded).resolve(&parts);
        assert_eq!(ip, Some("2001:db8:cafe::".parse().unwrap()));
        let parts = request("10.1.2.3:80", &[("x-forwarded-for", "198.51.100.9, garbage")]);
        assert_eq!(proxies().resolve(&parts).1, None);
    }

    #[test]
    fn networks() {
        assert!("10.0.0.0/8".parse::<IpNet>().unwrap().contains("10.200.0.1".parse().unwrap()));
        assert!(!"10.0.0.0/8".parse::<IpNet>().unwrap().contains("11.0.0.1".parse().unwrap()));
        assert!("0.0.0.0/0".parse::<IpNet>().unwrap().contains("1.2.3.4".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!(
            "::ffff:10.0.0.1".parse::<IpAddr>().is_ok_and(|ip| "10.0.0.0/8".parse::<IpNet>().unwrap().contains(ip))
        );
    }
}
