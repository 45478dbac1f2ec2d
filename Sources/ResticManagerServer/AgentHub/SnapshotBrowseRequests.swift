import Foundation
import ResticManagerProtocol

/// Why a browse got no listing from the agent.
enum SnapshotBrowseError: Error, Sendable, Equatable {
    /// The host has no live socket, or it closed before answering.
    case offline
    /// No answer within the deadline.
    case timedOut(Duration)
}

/// Browse requests in flight (SPEC §10.1): `snapshot.ls` goes out through
/// the hub, the agent's `snapshot.ls.result` comes back on its socket's
/// reader and is matched here by `request_id` — only from the host that
/// was asked. Each request waits on its own, so several users browse at
/// once and a slow listing holds up nothing else.
actor SnapshotBrowseRequests {
    private enum Slot {
        /// Asked; no one waits yet (the answer may come first).
        case expected
        case waiting(CheckedContinuation<SnapshotLsResult, any Error>)
        case arrived(SnapshotLsResult)
    }

    private var slots: [String: (host: HostID, slot: Slot)] = [:]
    private let hub: AgentHub

    init(hub: AgentHub) {
        self.hub = hub
    }

    /// Sends `request` to the host and waits for its answer.
    nonisolated func ask(
        _ request: SnapshotLsRequest, of hostID: HostID, timeout: Duration
    ) async throws -> SnapshotLsResult {
        let id = request.requestID
        await expect(id, from: hostID)
        defer { Task { await self.forget(id) } }
        guard await hub.send(.snapshotLs(request), to: hostID) else { throw SnapshotBrowseError.offline }
        return try await withThrowingTaskGroup(of: SnapshotLsResult.self) { group in
            group.addTask { try await self.answer(to: id) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw SnapshotBrowseError.timedOut(timeout)
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    /// An agent's answer; ignored unless that host was asked that request.
    func deliver(_ result: SnapshotLsResult, from hostID: HostID) {
        guard let entry = slots[result.requestID], entry.host == hostID else { return }
        switch entry.slot {
        case .expected: slots[result.requestID] = (hostID, .arrived(result))
        case .waiting(let continuation):
            slots[result.requestID] = nil
            continuation.resume(returning: result)
        case .arrived: return
        }
    }

    /// The host's socket closed: its open requests will get no answer.
    func hostDisconnected(_ hostID: HostID) {
        for (id, entry) in slots where entry.host == hostID {
            if case .waiting(let continuation) = entry.slot { continuation.resume(throwing: SnapshotBrowseError.offline) }
            slots[id] = nil
        }
    }

    private func expect(_ id: String, from hostID: HostID) {
        slots[id] = (hostID, .expected)
    }

    private func answer(to id: String) async throws -> SnapshotLsResult {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard let entry = slots[id] else {
                    continuation.resume(throwing: SnapshotBrowseError.offline)
                    return
                }
                switch entry.slot {
                case .arrived(let result):
                    slots[id] = nil
                    continuation.resume(returning: result)
                case .expected, .waiting:
                    slots[id] = (entry.host, .waiting(continuation))
                }
            }
        } onCancel: {
            Task { await self.forget(id) }
        }
    }

    private func forget(_ id: String) {
        if case .waiting(let continuation)? = slots.removeValue(forKey: id)?.slot {
            continuation.resume(throwing: CancellationError())
        }
    }
}
