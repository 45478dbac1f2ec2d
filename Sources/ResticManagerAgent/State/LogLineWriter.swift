/// Commits a running job's log lines to the outbox in groups: the first
/// caller writes, and lines that arrive while its transaction commits wait
/// and go into the next one together. Each `append` returns once its line is
/// committed, so a line that was emitted is never lost to a crash, yet a
/// chatty job costs one transaction (and one WAL sync) per group, not per line.
actor LogLineWriter {
    private let store: AgentStateStore
    private var waiting: [(line: PendingLogLine, done: CheckedContinuation<Void, any Error>)] = []
    private var writing = false

    init(store: AgentStateStore) {
        self.store = store
    }

    func append(_ line: PendingLogLine) async throws {
        if writing {
            try await withCheckedThrowingContinuation { waiting.append((line, $0)) }
            return
        }
        writing = true
        defer { writing = false }
        let own = await commit([line])
        // Lines queued meanwhile, group after group, until none wait.
        while !waiting.isEmpty {
            let group = waiting
            waiting = []
            let result = await commit(group.map(\.line))
            for entry in group { entry.done.resume(with: result) }
        }
        try own.get()
    }

    private func commit(_ lines: [PendingLogLine]) async -> Result<Void, any Error> {
        do {
            _ = try await store.appendLogs(lines)
            return .success(())
        } catch {
            return .failure(error)
        }
    }
}
