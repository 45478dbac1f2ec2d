import Testing

@testable import ResticManagerServer

@Suite("BadMessageBudget")
struct BadMessageBudgetTests {
    @Test("twenty refusals a minute are tolerated, the twenty-first is not, and old ones expire")
    func slidingMinute() {
        let budget = BadMessageBudget(limit: 20, window: .seconds(60))
        let start = ContinuousClock.now
        for second in 0..<20 { #expect(!budget.spend(now: start + .seconds(second))) }
        #expect(budget.spend(now: start + .seconds(30)))
        // A minute after the first ones, they no longer count.
        #expect(!budget.spend(now: start + .seconds(75)))
    }
}
