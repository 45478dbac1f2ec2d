import Foundation
import GRDB

/// The counts of ``LoginThrottle``, shared by every replica on the store.
///
/// `login_failures` holds one row per (username, IP) pair that failed within
/// the window; `login_address_failures` the times of an IP's failures, no
/// more than the newest `failuresPerIP + 1`, which are all the budget needs.
/// Each check or record is one transaction: on PostgreSQL a SERIALIZABLE
/// one, so two replicas deciding on the same pair at once cannot both read
/// the same count; the loser is run again and sees the winner's attempt.
extension AppDatabase {
    func admitLogin(_ pair: LoginThrottle.Pair, policy: LoginThrottle.Policy, now: Date) async throws
        -> LoginThrottle.Admission
    {
        try await write { tx in
            let since = now.addingTimeInterval(-policy.window.timeInterval)
            let overBudget = try Self.addressFailures(tx, ip: pair.ip, since: since) > policy.failuresPerIP
            let record = try tx.row(
                """
                SELECT failures, last_failed_at FROM login_failures
                WHERE username = ? AND ip = ? AND last_failed_at > ?
                """, [pair.username, pair.ip, since])
            let failures: Int = record?["failures"] ?? 0
            if let record,
                let wait = policy.retryAfter(
                    failures: failures, last: record["last_failed_at"], addressOverBudget: overBudget, now: now)
            {
                return .retryAfter(seconds: wait)
            }
            try tx.execute(
                """
                INSERT INTO login_failures (username, ip, failures, last_failed_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (username, ip) DO UPDATE
                SET failures = excluded.failures, last_failed_at = excluded.last_failed_at
                """, [pair.username, pair.ip, failures + 1, now])
            return .proceed
        }
    }

    /// The admitted attempt already counts for its pair; its delay now runs
    /// from the answer, and the failure is charged to the IP. A pair that a
    /// parallel success cleared in the meantime starts again at one failure.
    func recordLoginFailure(_ pair: LoginThrottle.Pair, policy: LoginThrottle.Policy, now: Date) async throws -> Int? {
        try await write { tx in
            let since = now.addingTimeInterval(-policy.window.timeInterval)
            try tx.execute(
                """
                INSERT INTO login_failures (username, ip, failures, last_failed_at) VALUES (?, ?, 1, ?)
                ON CONFLICT (username, ip) DO UPDATE SET last_failed_at = excluded.last_failed_at
                """, [pair.username, pair.ip, now])
            try tx.execute("INSERT INTO login_address_failures (ip, failed_at) VALUES (?, ?)", [pair.ip, now])
            try tx.execute(
                """
                DELETE FROM login_address_failures WHERE ip = ? AND (failed_at <= ? OR id NOT IN (
                    SELECT id FROM login_address_failures WHERE ip = ? ORDER BY failed_at DESC, id DESC LIMIT ?))
                """, [pair.ip, since, pair.ip, policy.failuresPerIP + 1])
            guard try Self.addressFailures(tx, ip: pair.ip, since: since) > policy.failuresPerIP else { return nil }
            let failures = try tx.value(
                Int.self, "SELECT failures FROM login_failures WHERE username = ? AND ip = ?", [pair.username, pair.ip])
            return policy.retryAfter(failures: failures ?? 1, last: now, addressOverBudget: true, now: now) ?? 1
        }
    }

    func clearLoginFailures(_ pair: LoginThrottle.Pair) async throws {
        try await write { tx in
            try tx.execute("DELETE FROM login_failures WHERE username = ? AND ip = ?", [pair.username, pair.ip])
        }
    }

    /// Deletes at most `limit` pairs and `limit` address failures last seen
    /// at or before `cutoff`; returns how many of each went.
    func deleteLoginFailures(before cutoff: Date, limit: Int) async throws -> (pairs: Int, addresses: Int) {
        try await write { tx in
            let pairs = try tx.execute(
                """
                DELETE FROM login_failures WHERE (username, ip) IN (
                    SELECT username, ip FROM login_failures WHERE last_failed_at <= ? LIMIT ?)
                """, [cutoff, limit])
            let addresses = try tx.execute(
                """
                DELETE FROM login_address_failures WHERE id IN (
                    SELECT id FROM login_address_failures WHERE failed_at <= ? LIMIT ?)
                """, [cutoff, limit])
            return (pairs, addresses)
        }
    }

    private static func addressFailures(_ tx: any StoreTransaction, ip: String, since: Date) throws -> Int {
        try tx.count("SELECT COUNT(*) FROM login_address_failures WHERE ip = ? AND failed_at > ?", [ip, since])
    }
}
