import Foundation
import GRDB

/// The audit log (SPEC §8): every mutating accessor writes its row inside
/// the transaction of the change itself.
extension AppDatabase {
    func audit(
        _ tx: any StoreTransaction, _ who: AuditActor, action: String, targetType: String = "", targetID: String = "",
        details: [String: String] = [:]
    ) throws {
        let detailsJSON = (try? JSONEncoder.sortedKeys.encode(details)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        let record = AuditRecord(
            id: nil, ts: Date(), actor: who.actor, action: action, targetType: targetType, targetId: targetID,
            details: detailsJSON, ip: who.ip)
        try tx.insert(record)
    }

    public func auditLog(page: Page) async throws -> PageResult<AuditRecord> {
        try await read { tx in try fetchPage(tx, AuditRecord.self, page: page) }
    }
}
