import Foundation
import GRDB

/// The audit log (SPEC §8): every mutating accessor writes its row inside
/// the transaction of the change itself.
extension AppDatabase {
    func audit(
        _ db: Database, _ who: AuditActor, action: String, targetType: String = "", targetID: String = "",
        details: [String: String] = [:]
    ) throws {
        let detailsJSON = (try? JSONEncoder.sortedKeys.encode(details)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        let record = AuditRecord(
            id: nil, ts: Date(), actor: who.actor, action: action, targetType: targetType, targetId: targetID,
            details: detailsJSON, ip: who.ip)
        try record.insert(db)
    }

    public func auditLog(page: Page) async throws -> PageResult<AuditRecord> {
        try await writer.read { db in try fetchPage(db, AuditRecord.all(), page: page) }
    }
}
