import Testing

@testable import ResticManagerAgent

@Suite struct BackoffTests {
    @Test func ceilingDoublesFromOneSecondToFiveMinutes() {
        let backoff = ReconnectBackoff()
        #expect(backoff.ceiling(forAttempt: 0) == .seconds(1))
        #expect(backoff.ceiling(forAttempt: 1) == .seconds(2))
        #expect(backoff.ceiling(forAttempt: 8) == .seconds(256))
        #expect(backoff.ceiling(forAttempt: 9) == .seconds(300))
        #expect(backoff.ceiling(forAttempt: 1000) == .seconds(300))
    }

    @Test func delaysStayWithinZeroAndTheCeiling() {
        var backoff = ReconnectBackoff()
        var seen: Set<Int64> = []
        for attempt in 0..<200 {
            let ceiling = backoff.ceiling(forAttempt: attempt)
            let delay = backoff.nextDelay()
            #expect(delay >= .zero && delay <= ceiling && delay <= .seconds(300))
            seen.insert(delay.components.seconds)
        }
        // Full jitter: at the cap, delays spread over the whole range.
        #expect(seen.count > 50)
    }

    @Test func resetStartsOver() {
        var backoff = ReconnectBackoff()
        for _ in 0..<20 { _ = backoff.nextDelay() }
        backoff.reset()
        #expect(backoff.attempt == 0)
        #expect(backoff.nextDelay() <= .seconds(1))
    }
}

@Suite struct ServerEndpointTests {
    @Test func derivesWebSocketURL() throws {
        #expect(try ServerEndpoint("http://127.0.0.1:8080/", insecure: false).webSocketURL == "ws://127.0.0.1:8080/api/v1/agent/ws")
        #expect(try ServerEndpoint("https://backup.example.com", insecure: false).webSocketURL == "wss://backup.example.com/api/v1/agent/ws")
        #expect(try ServerEndpoint("http://localhost:9", insecure: false).usesTLS == false)
    }

    @Test func refusesPlaintextToRemoteHostsUnlessInsecure() throws {
        #expect(throws: ServerEndpointError.plaintextToRemoteHost("backup.example.com")) {
            try ServerEndpoint("http://backup.example.com", insecure: false)
        }
        #expect(try ServerEndpoint("ws://backup.example.com", insecure: true).webSocketURL.hasPrefix("ws://"))
        #expect(throws: ServerEndpointError.self) { try ServerEndpoint("ftp://x", insecure: true) }
        #expect(throws: ServerEndpointError.tlsToIPAddress("10.0.0.1")) { try ServerEndpoint("https://10.0.0.1", insecure: false) }
    }
}
