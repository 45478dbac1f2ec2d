import Testing

@testable import ResticManagerServer

@Suite("LoginThrottle")
struct LoginThrottleTests {
    private func throttle(failuresPerIP: Int = 100) -> LoginThrottle {
        var policy = LoginThrottle.Policy()
        policy.failuresPerIP = failuresPerIP
        return LoginThrottle(policy: policy)
    }

    @Test("three free failures per pair, then a wait that doubles")
    func growingDelays() async {
        let throttle = throttle()
        for _ in 1...3 {
            #expect(await throttle.retryAfter(username: "admin", ip: "1.1.1.1") == nil)
            #expect(await throttle.recordFailure(username: "admin", ip: "1.1.1.1") == nil)
        }
        #expect(await throttle.retryAfter(username: "admin", ip: "1.1.1.1") == 1)
        #expect(await throttle.retryAfter(username: "ADMIN", ip: "1.1.1.1") == 1)
        _ = await throttle.recordFailure(username: "admin", ip: "1.1.1.1")
        #expect(await throttle.retryAfter(username: "admin", ip: "1.1.1.1") == 2)
        _ = await throttle.recordFailure(username: "admin", ip: "1.1.1.1")
        #expect(await throttle.retryAfter(username: "admin", ip: "1.1.1.1") == 4)
    }

    @Test("another address, or another user, is not slowed; a success clears the pair")
    func pairsAreIndependent() async {
        let throttle = throttle()
        for _ in 1...6 { _ = await throttle.recordFailure(username: "admin", ip: "1.1.1.1") }
        #expect(await throttle.retryAfter(username: "admin", ip: "2.2.2.2") == nil)
        #expect(await throttle.retryAfter(username: "bob", ip: "1.1.1.1") == nil)
        await throttle.recordSuccess(username: "admin", ip: "1.1.1.1")
        #expect(await throttle.retryAfter(username: "admin", ip: "1.1.1.1") == nil)
    }

    @Test("past the address budget failures answer 429 and pairs start delayed, other names still proceed")
    func addressBudget() async {
        let throttle = throttle(failuresPerIP: 4)
        for index in 1...4 {
            #expect(await throttle.recordFailure(username: "guess-\(index)", ip: "9.9.9.9") == nil)
        }
        #expect(await throttle.recordFailure(username: "guess-5", ip: "9.9.9.9") != nil)
        #expect(await throttle.retryAfter(username: "guess-5", ip: "9.9.9.9") != nil)
        // A name this address has not failed for is checked: its right password gets in.
        #expect(await throttle.retryAfter(username: "bob", ip: "9.9.9.9") == nil)
        #expect(await throttle.recordFailure(username: "x", ip: "8.8.8.8") == nil)
    }
}
