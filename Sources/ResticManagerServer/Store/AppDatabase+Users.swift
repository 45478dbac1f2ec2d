import Foundation
import GRDB

extension AppDatabase {
    public func userCount() async throws -> Int {
        try await writer.read { db in try UserRecord.fetchCount(db) }
    }

    public func createUser(username: String, passwordHash: String, role: Role, by who: AuditActor) async throws -> UserRecord {
        try await writer.write { db in
            if try UserRecord.filter(Column("username") == username).fetchCount(db) > 0 {
                throw StoreError.conflict("a user named \(username) already exists")
            }
            let user = UserRecord(
                id: .random(), username: username, passwordHash: passwordHash, role: role, disabled: false,
                createdAt: Date(), lastLoginAt: nil)
            try user.insert(db)
            try audit(db, who, action: "user.create", targetType: "user", targetID: user.id.rawValue,
                      details: ["username": username, "role": role.rawValue])
            return user
        }
    }

    public func user(id: UserID) async throws -> UserRecord? {
        try await writer.read { db in try UserRecord.fetchOne(db, key: id.rawValue) }
    }

    public func user(username: String) async throws -> UserRecord? {
        try await writer.read { db in try UserRecord.filter(Column("username") == username).fetchOne(db) }
    }

    public func listUsers(page: Page) async throws -> PageResult<UserRecord> {
        try await writer.read { db in try fetchPage(db, UserRecord.all(), page: page) }
    }

    public func allUsers() async throws -> [UserRecord] {
        try await writer.read { db in try UserRecord.order(Column("username")).fetchAll(db) }
    }

    /// Applies the given changes; nil leaves a field as is. Disabling a user
    /// or changing their password ends their sessions.
    public func updateUser(
        id: UserID, role: Role? = nil, disabled: Bool? = nil, passwordHash: String? = nil, by who: AuditActor
    ) async throws -> UserRecord {
        try await writer.write { db in
            guard var user = try UserRecord.fetchOne(db, key: id.rawValue) else { throw StoreError.notFound("user") }
            var details: [String: String] = ["username": user.username]
            if let role, role != user.role {
                if user.role == .admin, try isLastActiveAdmin(db, user.id) {
                    throw StoreError.conflict("\(user.username) is the last active admin; make another admin first")
                }
                user.role = role
                details["role"] = role.rawValue
            }
            if let disabled, disabled != user.disabled {
                if disabled, user.role == .admin, try isLastActiveAdmin(db, user.id) {
                    throw StoreError.conflict("\(user.username) is the last active admin; make another admin first")
                }
                user.disabled = disabled
                details["disabled"] = String(disabled)
            }
            if let passwordHash {
                user.passwordHash = passwordHash
                details["password"] = "changed"
            }
            try user.update(db)
            if disabled == true || passwordHash != nil {
                try SessionRecord.filter(Column("user_id") == id.rawValue).deleteAll(db)
            }
            try audit(db, who, action: "user.update", targetType: "user", targetID: id.rawValue, details: details)
            return user
        }
    }

    public func deleteUser(id: UserID, by who: AuditActor) async throws {
        try await writer.write { db in
            guard let user = try UserRecord.fetchOne(db, key: id.rawValue) else { throw StoreError.notFound("user") }
            if user.role == .admin, try isLastActiveAdmin(db, user.id) {
                throw StoreError.conflict("\(user.username) is the last active admin; make another admin first")
            }
            try user.delete(db)
            try audit(db, who, action: "user.delete", targetType: "user", targetID: id.rawValue,
                      details: ["username": user.username])
        }
    }

    private func isLastActiveAdmin(_ db: Database, _ id: UserID) throws -> Bool {
        try UserRecord.filter(Column("role") == Role.admin.rawValue && Column("disabled") == false && Column("id") != id.rawValue)
            .fetchCount(db) == 0
    }

    /// Records a successful login, replacing the stored hash when it was made
    /// with weaker parameters than today's.
    public func recordLogin(userID: UserID, rehashedPassword: String?, by who: AuditActor) async throws {
        try await writer.write { db in
            if let rehashedPassword {
                try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [rehashedPassword, userID])
            }
            try db.execute(sql: "UPDATE users SET last_login_at = ? WHERE id = ?", arguments: [Date(), userID])
            try audit(db, who, action: "auth.login", targetType: "user", targetID: userID.rawValue)
        }
    }

    public func recordFailedLogin(username: String, by who: AuditActor) async throws {
        try await writer.write { db in
            try audit(db, who, action: "auth.login_failed", targetType: "user", details: ["username": String(username.prefix(64))])
        }
    }

    // MARK: Sessions

    public func createSession(
        userID: UserID, tokenHash: String, lifetime: Duration, userAgent: String, ip: String
    ) async throws {
        try await writer.write { db in
            let now = Date()
            try SessionRecord(
                id: .random(), userId: userID, tokenHash: tokenHash, createdAt: now,
                expiresAt: now.addingTimeInterval(lifetime.timeInterval), lastSeenAt: now,
                userAgent: String(userAgent.prefix(256)), ip: ip
            ).insert(db)
        }
    }

    /// The active user behind a session token hash, or nil when the session
    /// is unknown, expired or its user disabled.
    public func userForSession(tokenHash: String) async throws -> UserRecord? {
        let now = Date()
        let found: (SessionRecord, UserRecord)? = try await writer.read { db in
            guard let session = try SessionRecord.filter(Column("token_hash") == tokenHash).fetchOne(db),
                session.expiresAt > now,
                let user = try UserRecord.fetchOne(db, key: session.userId.rawValue), !user.disabled
            else { return nil }
            return (session, user)
        }
        guard let (session, user) = found else { return nil }
        // Only write when last_seen is stale, so reads stay reads.
        if now.timeIntervalSince(session.lastSeenAt) > 60 {
            try await writer.write { db in
                try db.execute(sql: "UPDATE sessions SET last_seen_at = ? WHERE id = ?", arguments: [now, session.id])
            }
        }
        return user
    }

    public func deleteSession(tokenHash: String, by who: AuditActor) async throws {
        try await writer.write { db in
            let deleted = try SessionRecord.filter(Column("token_hash") == tokenHash).deleteAll(db)
            if deleted > 0 { try audit(db, who, action: "auth.logout") }
        }
    }

    // MARK: API tokens

    public func createAPIToken(
        userID: UserID, name: String, tokenHash: String, expiresAt: Date?, by who: AuditActor
    ) async throws -> APITokenRecord {
        try await writer.write { db in
            let token = APITokenRecord(
                id: .random(), userId: userID, name: name, tokenHash: tokenHash, createdAt: Date(), lastUsedAt: nil,
                expiresAt: expiresAt)
            try token.insert(db)
            try audit(db, who, action: "api_token.create", targetType: "api_token", targetID: token.id.rawValue,
                      details: ["name": name])
            return token
        }
    }

    public func listAPITokens(userID: UserID, page: Page) async throws -> PageResult<APITokenRecord> {
        try await writer.read { db in
            try fetchPage(db, APITokenRecord.filter(Column("user_id") == userID.rawValue), page: page)
        }
    }

    public func deleteAPIToken(id: APITokenID, userID: UserID, by who: AuditActor) async throws {
        try await writer.write { db in
            let deleted = try APITokenRecord.filter(Column("id") == id.rawValue && Column("user_id") == userID.rawValue)
                .deleteAll(db)
            guard deleted > 0 else { throw StoreError.notFound("API token") }
            try audit(db, who, action: "api_token.delete", targetType: "api_token", targetID: id.rawValue)
        }
    }

    /// The active user behind an API token hash; stamps `last_used_at`.
    public func userForAPIToken(tokenHash: String) async throws -> UserRecord? {
        let now = Date()
        return try await writer.write { db in
            guard let token = try APITokenRecord.filter(Column("token_hash") == tokenHash).fetchOne(db),
                token.expiresAt.map({ $0 > now }) ?? true,
                let user = try UserRecord.fetchOne(db, key: token.userId.rawValue), !user.disabled
            else { return nil }
            if now.timeIntervalSince(token.lastUsedAt ?? .distantPast) > 60 {
                try db.execute(sql: "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", arguments: [now, token.id])
            }
            return user
        }
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
