import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as its bytes (IPv4-mapped IPv6 addresses are
/// taken as the IPv4 address they carry, as a dual-stack socket reports them).
struct IPAddressBytes: Equatable, Sendable {
    let bytes: [UInt8]

    init?(_ text: some StringProtocol) {
        let text = String(text)
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            let all = withUnsafeBytes(of: &v6) { Array($0) }
            let mapped = all.prefix(10).allSatisfy { $0 == 0 } && all[10] == 0xFF && all[11] == 0xFF
            bytes = mapped ? Array(all.suffix(4)) : all
        } else {
            return nil
        }
    }
}

/// `ADDRESS/PREFIX` (or one address), as given to `--trusted-proxy`.
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    private let network: IPAddressBytes
    private let prefix: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddressBytes(parts[0]) else { return nil }
        let bits = address.bytes.count * 8
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), (0...bits).contains(prefix) else { return nil }
            self.prefix = prefix
        } else {
            self.prefix = bits
        }
        network = address
        description = text
    }

    func contains(_ address: IPAddressBytes) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        var remaining = prefix
        for (have, want) in zip(address.bytes, network.bytes) where remaining > 0 {
            let take = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - take))
            if have & mask != want & mask { return false }
            remaining -= take
        }
        return true
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed (#14 item 2).
/// Behind a proxy every browser shares the proxy's address, so limits per
/// IP need the client's; from anyone else the header is a lie for free.
public struct TrustedProxies: Sendable {
    public let networks: [IPNetwork]

    public init(_ networks: [IPNetwork] = []) { self.networks = networks }

    func contains(_ ip: String) -> Bool {
        guard !networks.isEmpty, let address = IPAddressBytes(ip) else { return false }
        return networks.contains { $0.contains(address) }
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy;
    /// then the nearest `X-Forwarded-For` hop that is not one (hops are
    /// appended left to right, so the right end is the one our proxy wrote).
    func clientIP(peer: String, forwardedFor headers: [String]) -> String {
        guard contains(peer) else { return peer }
        let hops = headers.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var client = peer
        for hop in hops.reversed() {
            // A malformed hop ends the trust: the last good one stands.
            guard IPAddressBytes(hop) != nil else { break }
            client = hop
            if !contains(hop) { break }
        }
        return client
    }
}
