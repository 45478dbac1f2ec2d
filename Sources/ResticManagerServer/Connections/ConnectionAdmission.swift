import Synchronization

/// Caps the connections one client IP holds open before they are an agent
/// WebSocket: one host cannot take every file descriptor with sockets that
/// never authenticate, and other clients (and agents) still get in.
final class ConnectionAdmission: Sendable {
    private let limit: Int
    private let exempt: TrustedProxies
    // Consulted synchronously while NIO sets a new connection up, on
    // whichever event loop accepted it; an actor hop would let the
    // connection run before the answer came.
    private let open = Mutex<[String: Int]>([:])

    init(limit: Int, exempt: TrustedProxies) {
        self.limit = limit
        self.exempt = exempt
    }

    /// A ticket to release when the connection closes or becomes an agent
    /// socket; nil when the IP already holds `limit` connections.
    func admit(_ ip: String) -> AdmissionTicket? {
        if exempt.contains(ip) { return AdmissionTicket(release: {}) }
        let admitted = open.withLock { counts in
            guard counts[ip, default: 0] < limit else { return false }
            counts[ip, default: 0] += 1
            return true
        }
        guard admitted else { return nil }
        return AdmissionTicket { [self] in
            open.withLock { counts in
                let left = counts[ip, default: 1] - 1
                counts[ip] = left > 0 ? left : nil
            }
        }
    }
}

/// One admitted connection's place; releasing it twice releases it once.
final class AdmissionTicket: Sendable {
    private let released = Atomic<Bool>(false)
    private let onRelease: @Sendable () -> Void

    init(release: @escaping @Sendable () -> Void) { onRelease = release }

    func release() {
        if !released.exchange(true, ordering: .relaxed) { onRelease() }
    }
}
