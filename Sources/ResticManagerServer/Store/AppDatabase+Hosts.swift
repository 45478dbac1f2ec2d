import Foundation
import GRDB
import ResticManagerProtocol

/// The secrets of a host's repository, still sealed.
public struct HostConfig: Sendable, Equatable {
    public var repoURL: String
    public var repoUsername: String
    public var repoPasswordSealed: [UInt8]?
    public var repoCredentialSealed: [UInt8]?
    public var hookShell: String
}

/// A change to a host's config. nil leaves a field as is; for the write-only
/// secrets, `.some(nil)` clears the stored value.
public struct HostConfigChange: Sendable {
    public var repoURL: String?
    public var repoUsername: String?
    public var repoPasswordSealed: [UInt8]??
    public var repoCredentialSealed: [UInt8]??
    public var hookShell: String?

    public init(
        repoURL: String? = nil, repoUsername: String? = nil, repoPasswordSealed: [UInt8]?? = nil,
        repoCredentialSealed: [UInt8]?? = nil, hookShell: String? = nil
    ) {
        self.repoURL = repoURL
        self.repoUsername = repoUsername
        self.repoPasswordSealed = repoPasswordSealed
        self.repoCredentialSealed = repoCredentialSealed
        self.hookShell = hookShell
    }
}

extension AppDatabase {
    // MARK: Enrollment tokens

    public func createEnrollmentToken(
        tokenHash: String, note: String, expiresAt: Date, replaceHostID: HostID?, by who: AuditActor
    ) async throws -> EnrollmentTokenRecord {
        try await write { tx in
            if let replaceHostID,
                try tx.count("SELECT COUNT(*) FROM hosts WHERE id = ? AND revoked_at IS NULL", [replaceHostID]) == 0
            {
                throw StoreError.invalid("replace_host_id: no such host")
            }
            let token = EnrollmentTokenRecord(
                id: .random(), tokenHash: tokenHash, note: note, createdBy: who.actor, createdAt: Date(),
                expiresAt: expiresAt, usedAt: nil, usedByHostId: nil, replaceHostId: replaceHostID)
            try tx.insert(token)
            var details = ["note": note]
            if let replaceHostID { details["replace_host_id"] = replaceHostID.rawValue }
            try audit(tx, who, action: "enrollment_token.create", targetType: "enrollment_token",
                      targetID: token.id.rawValue, details: details)
            return token
        }
    }

    public func listEnrollmentTokens(page: Page) async throws -> PageResult<EnrollmentTokenRecord> {
        try await read { tx in try fetchPage(tx, EnrollmentTokenRecord.self, page: page) }
    }

    public func deleteEnrollmentToken(id: EnrollmentTokenID, by who: AuditActor) async throws {
        try await write { tx in
            guard try tx.delete(EnrollmentTokenRecord.self, id: id) else {
                throw StoreError.notFound("enrollment token")
            }
            try audit(tx, who, action: "enrollment_token.delete", targetType: "enrollment_token", targetID: id.rawValue)
        }
    }

    /// Exchanges an unused, unexpired enrollment token for a host bound to
    /// `agentTokenHash`. Returns nil for an unknown, used or expired token:
    /// callers answer all three the same way.
    public func enroll(
        enrollmentTokenHash: String, hostname: String, os: String, arch: String, name: String?,
        agentTokenHash: String, ip: String
    ) async throws -> HostRecord? {
        try await write { tx in
            let now = Date()
            guard
                var token = try tx.fetchOne(
                    EnrollmentTokenRecord.self, "SELECT * FROM enrollment_tokens WHERE token_hash = ?", [enrollmentTokenHash]),
                token.usedAt == nil, token.expiresAt > now
            else { return nil }
            let host: HostRecord
            if let replaceID = token.replaceHostId,
                var existing = try tx.fetchOne(HostRecord.self, id: replaceID), existing.revokedAt == nil
            {
                existing.hostname = hostname
                existing.os = os
                existing.arch = arch
                existing.agentTokenHash = agentTokenHash
                existing.enrolledAt = now
                existing.connected = false
                try tx.update(existing)
                host = existing
            } else {
                host = HostRecord(
                    id: .random(), name: name ?? hostname, hostname: hostname, os: os, arch: arch, agentVersion: "",
                    resticVersion: "", agentTokenHash: agentTokenHash, enrolledAt: now, lastSeenAt: nil,
                    connected: false, bootTime: nil, timezone: nil, notes: "", revokedAt: nil)
                try tx.insert(host)
                try tx.insert(ScheduleVersionRecord(hostId: host.id, desiredVersion: 1, ackedVersion: 0, ackedAt: nil, desiredAt: now))
            }
            token.usedAt = now
            token.usedByHostId = host.id
            try tx.update(token)
            try audit(tx, AuditActor(actor: "enrollment:\(token.id)", ip: ip), action: "host.enroll",
                      targetType: "host", targetID: host.id.rawValue,
                      details: ["hostname": hostname, "replaced": String(token.replaceHostId != nil)])
            return host
        }
    }

    // MARK: Hosts

    public func host(id: HostID) async throws -> HostRecord? {
        try await read { tx in
            try tx.fetchOne(HostRecord.self, "SELECT * FROM hosts WHERE id = ? AND revoked_at IS NULL", [id])
        }
    }

    /// The active host an agent token belongs to.
    public func host(agentTokenHash: String) async throws -> HostRecord? {
        try await read { tx in
            try tx.fetchOne(
                HostRecord.self, "SELECT * FROM hosts WHERE agent_token_hash = ? AND revoked_at IS NULL", [agentTokenHash])
        }
    }

    /// Every active host, by name: for pickers that need no status.
    public func activeHosts() async throws -> [HostRecord] {
        try await read { tx in
            try tx.fetchAll(HostRecord.self, "SELECT * FROM hosts WHERE revoked_at IS NULL ORDER BY name")
        }
    }

    public func updateHost(id: HostID, name: String?, notes: String?, by who: AuditActor) async throws -> HostRecord {
        try await write { tx in
            guard var host = try tx.fetchOne(HostRecord.self, "SELECT * FROM hosts WHERE id = ? AND revoked_at IS NULL", [id])
            else { throw StoreError.notFound("host") }
            var details: [String: String] = [:]
            if let name { host.name = name; details["name"] = name }
            if let notes { host.notes = notes; details["notes"] = "changed" }
            try tx.update(host)
            try audit(tx, who, action: "host.update", targetType: "host", targetID: id.rawValue, details: details)
            return host
        }
    }

    /// Revokes the host: its agent token stops working at once and the host
    /// leaves every list. Its job history stays for the audit trail.
    public func revokeHost(id: HostID, by who: AuditActor) async throws {
        try await write { tx in
            guard var host = try tx.fetchOne(HostRecord.self, "SELECT * FROM hosts WHERE id = ? AND revoked_at IS NULL", [id])
            else { throw StoreError.notFound("host") }
            host.revokedAt = Date()
            host.connected = false
            try tx.update(host)
            try audit(tx, who, action: "host.revoke", targetType: "host", targetID: id.rawValue,
                      details: ["hostname": host.hostname])
        }
    }

    /// Applies an agent's `hello` and marks the host online, held by
    /// `replica` until `leaseUntil` (renewed by ``renewHostLeases``).
    public func recordHello(
        hostID: HostID, hello: HelloPayload, ip: String, replica: ReplicaID, leaseUntil: Date
    ) async throws {
        let restoreTargets = String(decoding: try JSONEncoder.sortedKeys.encode(hello.restoreTargets ?? []), as: UTF8.self)
        try await write { tx in
            try tx.execute(
                """
                UPDATE hosts SET hostname = ?, os = ?, arch = ?, agent_version = ?, restic_version = ?,
                boot_time = ?, timezone = COALESCE(?, timezone), last_seen_at = ?, connected = 1,
                restore_targets = ?, hooks_allowed = ? WHERE id = ?
                """,
                [hello.hostname, hello.os, hello.arch, hello.agentVersion, hello.resticVersion,
                 hello.bootTime, hello.timezone, Date(), restoreTargets,
                 hello.hooksAllowed ?? true, hostID])
            try tx.execute(
                """
                INSERT INTO host_leases (host_id, replica, expires_at) VALUES (?, ?, ?)
                ON CONFLICT (host_id) DO UPDATE SET replica = excluded.replica, expires_at = excluded.expires_at
                """, [hostID, replica.rawValue, leaseUntil])
            try audit(tx, AuditActor(actor: "agent:\(hostID)", ip: ip), action: "agent.connect", targetType: "host",
                      targetID: hostID.rawValue, details: ["agent_version": hello.agentVersion])
        }
    }

    /// Hosts whose agents allow restores (`--restore-to`), by name: where
    /// a restore can go.
    public func hostsAllowingRestore() async throws -> [HostRecord] {
        try await read { tx in
            try tx.fetchAll(
                HostRecord.self, "SELECT * FROM hosts WHERE revoked_at IS NULL AND restore_targets <> '[]' ORDER BY name")
        }
    }

    /// Writes last-seen times kept in memory (``AgentPresence``), all in one
    /// transaction. A time never moves back: a flush that lands after the
    /// disconnect's own write changes nothing.
    public func recordLastSeen(_ seen: [(HostID, Date)]) async throws {
        try await write { tx in
            for (hostID, date) in seen { try tx.execute(Self.lastSeenUpdate + " WHERE id = ?", [date, date, hostID]) }
        }
    }

    /// The host's socket on `replica` ended. It stays online if its agent
    /// has meanwhile connected to another replica, which holds it now.
    public func markDisconnected(hostID: HostID, lastSeenAt: Date, replica: ReplicaID) async throws {
        try await write { tx in
            try tx.execute("DELETE FROM host_leases WHERE host_id = ? AND replica = ?", [hostID, replica.rawValue])
            try tx.execute(
                Self.lastSeenUpdate + """
                    , connected = CASE WHEN EXISTS (SELECT 1 FROM host_leases WHERE host_id = ?) THEN connected ELSE 0 END
                    WHERE id = ?
                    """, [lastSeenAt, lastSeenAt, hostID, hostID])
        }
    }

    /// Stored dates are fixed-width text, so comparing them compares times.
    /// Binds the new time twice.
    private static let lastSeenUpdate =
        "UPDATE hosts SET last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at < ? THEN ? ELSE last_seen_at END"

    /// At start-up of the only server no agent is connected yet, whatever
    /// the last run left. (Replicas sharing a store leave it to the leases.)
    public func markAllDisconnected() async throws {
        try await write { tx in
            try tx.execute("DELETE FROM host_leases")
            try tx.execute("UPDATE hosts SET connected = 0")
        }
    }

    // MARK: Config

    public func hostConfig(hostID: HostID) async throws -> HostConfig? {
        try await read { tx in
            try tx.fetchOne(HostConfigRecord.self, "SELECT * FROM host_config WHERE host_id = ?", [hostID]).map {
                HostConfig(
                    repoURL: $0.repoUrl, repoUsername: $0.repoUsername, repoPasswordSealed: $0.repoPasswordEnc.map(Array.init),
                    repoCredentialSealed: $0.repoCredentialEnc.map(Array.init), hookShell: $0.hookShell)
            }
        }
    }

    public func updateHostConfig(hostID: HostID, change: HostConfigChange, by who: AuditActor) async throws -> HostConfig {
        try await write { tx in
            var record = try tx.fetchOne(HostConfigRecord.self, "SELECT * FROM host_config WHERE host_id = ?", [hostID])
                ?? HostConfigRecord(hostId: hostID, repoUrl: "", repoUsername: "", repoPasswordEnc: nil,
                                    repoCredentialEnc: nil, hookShell: "", updatedAt: Date())
            var changed: [String] = []
            if let url = change.repoURL { record.repoUrl = url; changed.append("repo_url") }
            if let username = change.repoUsername { record.repoUsername = username; changed.append("repo_username") }
            if let password = change.repoPasswordSealed {
                record.repoPasswordEnc = password.map { Data($0) }
                changed.append("repo_password")
            }
            if let credential = change.repoCredentialSealed {
                record.repoCredentialEnc = credential.map { Data($0) }
                changed.append("repo_credential")
            }
            if let shell = change.hookShell { record.hookShell = shell; changed.append("hook_shell") }
            record.updatedAt = Date()
            try tx.execute(
                """
                INSERT INTO host_config (host_id, repo_url, repo_username, repo_password_enc, repo_credential_enc,
                    hook_shell, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (host_id) DO UPDATE SET repo_url = excluded.repo_url,
                    repo_username = excluded.repo_username, repo_password_enc = excluded.repo_password_enc,
                    repo_credential_enc = excluded.repo_credential_enc, hook_shell = excluded.hook_shell,
                    updated_at = excluded.updated_at
                """,
                [hostID, record.repoUrl, record.repoUsername, record.repoPasswordEnc, record.repoCredentialEnc,
                 record.hookShell, record.updatedAt])
            // Only field names go into the audit log, never the values.
            try audit(tx, who, action: "host.config.update", targetType: "host", targetID: hostID.rawValue,
                      details: ["fields": changed.joined(separator: ",")])
            return HostConfig(
                repoURL: record.repoUrl, repoUsername: record.repoUsername,
                repoPasswordSealed: record.repoPasswordEnc.map(Array.init),
                repoCredentialSealed: record.repoCredentialEnc.map(Array.init), hookShell: record.hookShell)
        }
    }
}
