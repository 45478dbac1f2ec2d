import Synchronization

/// Messages sent and not yet acked, bounded like an agent's outbox window.
///
/// One sender reserves a slot per message and waits while the window is
/// full; the receiver releases slots as acks arrive. A failure (refusal,
/// closed socket) wakes the sender with the error.
final class UnackedWindow: Sendable {
    private struct State {
        var inFlight = 0
        var acks = 0
        var failure: BenchError?
        var waiter: (limit: Int, continuation: CheckedContinuation<Void, any Error>)?
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    /// How many acks arrived: the server commits one batch per ack.
    var acks: Int { state.withLock { $0.acks } }

    /// Takes one slot, waiting for an ack while all `capacity` are taken.
    func reserve() async throws {
        try await wait(untilInFlightAtMost: capacity - 1)
        state.withLock { $0.inFlight += 1 }
    }

    /// Waits until everything sent has been acked.
    func drain() async throws { try await wait(untilInFlightAtMost: 0) }

    func release(_ count: Int) {
        let ready = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.inFlight -= count
            state.acks += 1
            guard let waiter = state.waiter, state.inFlight <= waiter.limit else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        ready?.resume()
    }

    func fail(_ error: BenchError) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if state.failure == nil { state.failure = error }
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(throwing: error)
    }

    private func wait(untilInFlightAtMost limit: Int) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let verdict = state.withLock { state -> Result<Bool, BenchError> in
                if let failure = state.failure { return .failure(failure) }
                if state.inFlight <= limit { return .success(true) }
                state.waiter = (limit, continuation)
                return .success(false)
            }
            switch verdict {
            case .failure(let error): continuation.resume(throwing: error)
            case .success(true): continuation.resume()
            case .success(false): break
            }
        }
    }
}

/// Holds every agent until all are connected and have started their job,
/// then lets them go at the same instant, which starts the clock.
actor StartGate {
    private let parties: Int
    private var arrived = 0
    private var waiters: [CheckedContinuation<ContinuousClock.Instant, Never>] = []
    private(set) var openedAt: ContinuousClock.Instant?

    init(parties: Int) { self.parties = parties }

    /// Waits for the others; returns the common start instant.
    func arrive() async -> ContinuousClock.Instant {
        if let openedAt { return openedAt }
        arrived += 1
        if arrived == parties { return open() }
        return await withCheckedContinuation { waiters.append($0) }
    }

    /// Lets everyone go at once when one agent failed, so the run ends.
    func abandon() { _ = open() }

    private func open() -> ContinuousClock.Instant {
        let now = openedAt ?? ContinuousClock.now
        openedAt = now
        for waiter in waiters { waiter.resume(returning: now) }
        waiters = []
        return now
    }
}
