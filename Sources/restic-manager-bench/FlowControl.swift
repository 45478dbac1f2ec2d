import Dispatch
import Synchronization

/// Messages sent and not yet acked, bounded like an agent's outbox window.
///
/// The sending thread takes the free slots before each write and blocks
/// while the window is full; the reading thread frees slots as acks arrive.
/// A failure (refusal, closed socket) wakes the sender with the error.
final class UnackedWindow: Sendable {
    private struct State {
        var inFlight = 0
        var acks = 0
        var failure: BenchError?
        /// The in-flight count the blocked sender waits for, if it waits.
        var waitingFor: Int?
    }

    let capacity: Int
    private let state = Mutex(State())
    /// Signalled once per wait, by whoever clears `waitingFor`.
    private let wakeUp = DispatchSemaphore(value: 0)

    init(capacity: Int) { self.capacity = capacity }

    /// How many acks arrived: the server commits one batch per ack.
    var acks: Int { state.withLock { $0.acks } }

    /// Takes every free slot, waiting for an ack while none is free; returns
    /// how many it took.
    func reserveFree() throws -> Int {
        try wait(untilInFlightAtMost: capacity - 1)
        return state.withLock { state in
            defer { state.inFlight = capacity }
            return capacity - state.inFlight
        }
    }

    /// Waits until everything sent has been acked.
    func drain() throws { try wait(untilInFlightAtMost: 0) }

    func release(_ count: Int) {
        let wake = state.withLock { state -> Bool in
            state.inFlight -= count
            state.acks += 1
            guard let limit = state.waitingFor, state.inFlight <= limit else { return false }
            state.waitingFor = nil
            return true
        }
        if wake { wakeUp.signal() }
    }

    func fail(_ error: BenchError) {
        let wake = state.withLock { state -> Bool in
            if state.failure == nil { state.failure = error }
            defer { state.waitingFor = nil }
            return state.waitingFor != nil
        }
        if wake { wakeUp.signal() }
    }

    private func wait(untilInFlightAtMost limit: Int) throws {
        while true {
            let verdict = state.withLock { state -> Result<Bool, BenchError> in
                if let failure = state.failure { return .failure(failure) }
                if state.inFlight <= limit { return .success(true) }
                state.waitingFor = limit
                return .success(false)
            }
            if try verdict.get() { return }
            wakeUp.wait()
        }
    }
}

/// Holds every agent until all are connected and have started their job,
/// then lets them go at the same instant, which starts the clock.
final class StartGate: Sendable {
    private struct State {
        var arrived = 0
        var waiting = 0
        var openedAt: ContinuousClock.Instant?
    }

    private let parties: Int
    private let state = Mutex(State())
    /// Signalled once per waiting agent when the gate opens.
    private let opened = DispatchSemaphore(value: 0)

    init(parties: Int) { self.parties = parties }

    var openedAt: ContinuousClock.Instant? { state.withLock { $0.openedAt } }

    /// Blocks until the others arrived; returns the common start instant.
    func arrive() -> ContinuousClock.Instant {
        let (instant, wakeUps) = state.withLock { state -> (ContinuousClock.Instant?, Int) in
            if let openedAt = state.openedAt { return (openedAt, 0) }
            state.arrived += 1
            if state.arrived == parties { return Self.open(&state) }
            state.waiting += 1
            return (nil, 0)
        }
        for _ in 0..<wakeUps { opened.signal() }
        if let instant { return instant }
        opened.wait()
        return openedAt ?? .now
    }

    /// Lets everyone go at once when one agent failed, so the run ends.
    func abandon() {
        let (_, wakeUps) = state.withLock { Self.open(&$0) }
        for _ in 0..<wakeUps { opened.signal() }
    }

    /// Sets the start instant once; returns it and how many agents to wake.
    private static func open(_ state: inout State) -> (ContinuousClock.Instant?, Int) {
        let now = state.openedAt ?? .now
        state.openedAt = now
        defer { state.waiting = 0 }
        return (now, state.waiting)
    }
}
