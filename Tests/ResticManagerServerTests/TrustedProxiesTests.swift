import Testing

@testable import ResticManagerServer

@Suite("TrustedProxies")
struct TrustedProxiesTests {
    private let proxies = TrustedProxies([IPNetwork("10.0.0.0/8")!, IPNetwork("::1")!, IPNetwork("192.168.1.5")!])

    @Test("parses addresses and CIDRs, refuses the rest")
    func parsing() {
        for text in ["10.0.0.0/8", "192.168.1.5", "::1", "fd00::/8", "0.0.0.0/0", "2001:db8::/128"] {
            #expect(IPNetwork(text) != nil, "\(text)")
        }
        for text in ["", "10.0.0.0/33", "::/129", "10.0.0/8", "host.example", "10.0.0.1/", "/8", "1.2.3.4/8/9"] {
            #expect(IPNetwork(text) == nil, "\(text)")
        }
    }

    @Test("matches by prefix, IPv4-mapped IPv6 as its IPv4 address")
    func matching() {
        #expect(proxies.contains("10.200.3.4"))
        #expect(proxies.contains("::ffff:10.1.2.3"))
        #expect(proxies.contains("::1"))
        #expect(!proxies.contains("11.0.0.1"))
        #expect(!proxies.contains("192.168.1.6"))
        #expect(!proxies.contains("not an address"))
        #expect(IPNetwork("10.1.2.3/31")!.contains(IPAddressBytes("10.1.2.2")!))
        #expect(!IPNetwork("10.1.2.3/31")!.contains(IPAddressBytes("10.1.2.4")!))
    }

    @Test("the header counts only when the peer is trusted")
    func untrustedPeer() {
        #expect(proxies.clientIP(peer: "203.0.113.9", forwardedFor: ["1.2.3.4"]) == "203.0.113.9")
        #expect(TrustedProxies().clientIP(peer: "10.0.0.1", forwardedFor: ["1.2.3.4"]) == "10.0.0.1")
    }

    @Test("the nearest untrusted hop is the client; what a client wrote on the left is ignored")
    func walksFromTheRight() {
        #expect(proxies.clientIP(peer: "10.0.0.1", forwardedFor: ["6.6.6.6, 203.0.113.7"]) == "203.0.113.7")
        #expect(proxies.clientIP(peer: "10.0.0.1", forwardedFor: ["6.6.6.6", "203.0.113.7, 10.0.0.2"])
            == "203.0.113.7")
        #expect(proxies.clientIP(peer: "::1", forwardedFor: ["2001:db8::1"]) == "2001:db8::1")
    }

    @Test("a malformed hop or a chain of proxies only stops at the last good address")
    func malformedHops() {
        #expect(proxies.clientIP(peer: "10.0.0.1", forwardedFor: ["203.0.113.7, bogus"]) == "10.0.0.1")
        #expect(proxies.clientIP(peer: "10.0.0.1", forwardedFor: ["bogus, 10.0.0.3"]) == "10.0.0.3")
        #expect(proxies.clientIP(peer: "10.0.0.1", forwardedFor: []) == "10.0.0.1")
    }
}
