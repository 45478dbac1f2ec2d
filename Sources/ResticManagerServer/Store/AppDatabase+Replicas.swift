import Foundation
import ResticManagerCrypto

/// One server process among those sharing a database (SPEC §12): what it
/// holds (leases on work and on its agents' hosts) is written under this
/// name. A new one per start, so a restarted replica never mistakes the
/// leases of its previous life for its own.
public struct ReplicaID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String

    public static func random() -> ReplicaID {
        let host = ProcessInfo.processInfo.hostName.prefix(64)
        return ReplicaID(rawValue: "\(host)-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())")
    }

    public var description: String { rawValue }
}

extension AppDatabase {
    /// Whether other replicas may share this store: true on PostgreSQL.
    public var isShared: Bool { engine.dialect == .postgres }

    // MARK: The key seal

    /// What the seal holds: any fixed text; only whether it opens matters.
    private static let sealText = "restic-manager store seal"
    private static let sealAssociation = "store_seal"

    /// Seals a store that has no seal yet to `box`'s key; returns false when
    /// the store was sealed with another key, whose secrets this one cannot
    /// open.
    func keyMatchesSeal(_ box: SecretBox) async throws -> Bool {
        let fresh = try box.seal(Self.sealText, associatedData: Self.sealAssociation)
        return try await write { tx in
            guard let sealed = try tx.value(Data.self, "SELECT sealed FROM store_seal WHERE id = 1") else {
                try tx.execute("INSERT INTO store_seal (id, sealed, sealed_at) VALUES (1, ?, ?)", [Data(fresh), Date()])
                return true
            }
            return (try? box.open(Array(sealed), associatedData: Self.sealAssociation)) == Self.sealText
        }
    }

    // MARK: Leases on once-per-fleet work

    /// Takes the lease `name` for `holder` until `until`, or renews it if
    /// `holder` has it; false while another holder's lease runs.
    func holdLease(_ name: String, holder: ReplicaID, until: Date, now: Date = Date()) async throws -> Bool {
        try await write { tx in
            try tx.execute(
                """
                INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE leases.holder = excluded.holder OR leases.expires_at < ?
                """, [name, holder.rawValue, until, now]) > 0
        }
    }

    // MARK: Leases on connected hosts

    /// Keeps this replica's hosts online until `until`.
    func renewHostLeases(replica: ReplicaID, until: Date) async throws {
        try await write { tx in
            try tx.execute("UPDATE host_leases SET expires_at = ? WHERE replica = ?", [until, replica.rawValue])
        }
    }

    /// Marks offline the hosts whose replica stopped renewing their lease
    /// (it died, or lost the database), and those marked online with no
    /// lease at all; returns how many.
    func expireHostLeases(now: Date = Date()) async throws -> Int {
        try await write { tx in
            let offline = try tx.execute(
                """
                UPDATE hosts SET connected = 0 WHERE connected = 1 AND NOT EXISTS (
                    SELECT 1 FROM host_leases l WHERE l.host_id = hosts.id AND l.expires_at >= ?)
                """, [now])
            try tx.execute("DELETE FROM host_leases WHERE expires_at < ?", [now])
            return offline
        }
    }
}
