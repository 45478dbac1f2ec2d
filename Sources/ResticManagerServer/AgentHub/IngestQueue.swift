import Synchronization

/// Agent messages on their way from a session's reader to its batcher.
///
/// Group commit: the batcher takes everything that arrived while its
/// previous transaction committed, up to one batch, so batches grow with the
/// load and an idle agent's message is committed at once. The reader waits
/// while `capacity` messages are pending, so a slow store slows the socket
/// down instead of growing memory. Cheaper per message than an `AsyncChannel`
/// hand-off, which costs several task switches each.
final class IngestQueue<Element: Sendable>: Sendable {
    private struct State {
        var pending: [Element] = []
        var finished = false
        var reader: CheckedContinuation<Void, Never>?
        var batcher: CheckedContinuation<Void, Never>?
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Queues `element`, first waiting while `capacity` elements are pending.
    /// Drops it once the queue is finished: the batcher has stopped.
    func append(_ element: Element) async {
        while true {
            let (appended, batcher) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                guard !state.finished else { return (true, nil) }
                guard state.pending.count < capacity else { return (false, nil) }
                state.pending.append(element)
                defer { state.batcher = nil }
                return (true, state.batcher)
            }
            batcher?.resume()
            if appended { return }
            await withCheckedContinuation { continuation in
                let full = state.withLock { state in
                    let full = !state.finished && state.pending.count >= capacity
                    if full { state.reader = continuation }
                    return full
                }
                if !full { continuation.resume() }
            }
        }
    }

    /// Takes up to `limit` pending elements in arrival order, waiting while
    /// there are none; nil once the queue is finished and drained.
    func next(upTo limit: Int) async -> [Element]? {
        while true {
            let (batch, finished, reader) = state.withLock {
                state -> ([Element], Bool, CheckedContinuation<Void, Never>?) in
                guard !state.pending.isEmpty else { return ([], state.finished, nil) }
                let batch: [Element]
                if state.pending.count <= limit {
                    batch = state.pending
                    // Not keeping the capacity: after one replay burst an
                    // idle socket would hold room for a whole batch of
                    // envelopes for as long as it stays connected.
                    state.pending = []
                } else {
                    batch = Array(state.pending.prefix(limit))
                    state.pending.removeFirst(limit)
                }
                defer { state.reader = nil }
                return (batch, false, state.reader)
            }
            reader?.resume()
            if !batch.isEmpty { return batch }
            if finished { return nil }
            await withCheckedContinuation { continuation in
                let wait = state.withLock { state in
                    let wait = !state.finished && state.pending.isEmpty
                    if wait { state.batcher = continuation }
                    return wait
                }
                if !wait { continuation.resume() }
            }
        }
    }

    /// No more elements: the batcher drains what is pending, then gets nil;
    /// a waiting or later `append` returns without queueing.
    func finish() {
        let (reader, batcher) = state.withLock { state in
            state.finished = true
            defer {
                state.reader = nil
                state.batcher = nil
            }
            return (state.reader, state.batcher)
        }
        reader?.resume()
        batcher?.resume()
    }
}
