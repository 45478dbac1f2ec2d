import Synchronization

/// Counts one socket's refused messages over a sliding minute (SPEC §6:
/// more than 20 a minute closes with 4008). The reader counts what fails to
/// decode or breaks a limit, the batcher what the store refuses (e.g. a job
/// of another host), so both share one budget.
final class BadMessageBudget: Sendable {
    private let limit: Int
    private let window: Duration
    // A lock rather than an actor: the reader and the batcher ask in the
    // middle of their loops, and a hop per refused message would only add
    // suspension points to both.
    private let refusals = Mutex<[ContinuousClock.Instant]>([])

    init(limit: Int, window: Duration) {
        self.limit = limit
        self.window = window
    }

    /// Counts one refusal; true when the budget is now exceeded.
    func spend(now: ContinuousClock.Instant = .now) -> Bool {
        refusals.withLock { times in
            times.removeAll { now - $0 >= window }
            times.append(now)
            return times.count > limit
        }
    }
}
