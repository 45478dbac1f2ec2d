import Foundation
import GRDB

extension AppDatabase {
    public func userCount() async throws -> Int {
        try await read { tx in try tx.count("SELECT COUNT(*) FROM users") }
    }

    public func createUser(username: String, passwordHash: String, role: Role, by who: AuditActor) async throws -> UserRecord {
        try await write { tx in
            if try tx.count("SELECT COUNT(*) FROM users WHERE username = ?", [username]) > 0 {
                throw StoreError.conflict("a user named \(username) already exists")
            }
            let user = UserRecord(
                id: .random(), username: username, passwordHash: passwordHash, role: role, disabled: false,
                createdAt: Date(), lastLoginAt: nil)
            try tx.insert(user)
            try audit(tx, who, action: "user.create", targetType: "user", targetID: user.id.rawValue,
                      details: ["username": username, "role": role.rawValue])
            return user
        }
    }

    public func user(id: UserID) async throws -> UserRecord? {
        try await read { tx in try tx.fetchOne(UserRecord.self, id: id) }
    }

    public func user(username: String) async throws -> UserRecord? {
        try await read { tx in try tx.fetchOne(UserRecord.self, "SELECT * FROM users WHERE username = ?", [username]) }
    }

    public func listUsers(page: Page) async throws -> PageResult<UserRecord> {
        try await read { tx in try fetchPage(tx, UserRecord.self, page: page) }
    }

    public func allUsers() async throws -> [UserRecord] {
        try await read { tx in try tx.fetchAll(UserRecord.self, "SELECT * FROM users ORDER BY username") }
    }

    /// Applies the given changes; nil leaves a field as is. Disabling a user
    /// or changing their password ends their sessions.
    public func updateUser(
        id: UserID, role: Role? = nil, disabled: Bool? = nil, passwordHash: String? = nil, by who: AuditActor
    ) async throws -> UserRecord {
        try await write { tx in
            guard var user = try tx.fetchOne(UserRecord.self, id: id) else { throw StoreError.notFound("user") }
            var details: [String: String] = ["username": user.username]
            if let role, role != user.role {
                if user.role == .admin, try isLastActiveAdmin(tx, user.id) {
                    throw StoreError.conflict("\(user.username) is the last active admin; make another admin first")
                }
                user.role = role
                details["role"] = role.rawValue
            }
            if let disabled, disabled != user.disabled {
                if disabled, user.role == .admin, try isLastActiveAdmin(tx, user.id) {
                    throw StoreError.conflict("\(user.username) is the last active admin; make another admin first")
                }
                user.disabled = disabled
                details["disabled"] = String(disabled)
            }
            if let passwordHash {
                user.passwordHash = passwordHash
                details["password"] = "changed"
            }
            try tx.update(user)
            if disabled == true || passwordHash != nil {
                try tx.execute("DELETE FROM sessions WHERE user_id = ?", [id])
            }
            try audit(tx, who, action: "user.update", targetType: "user", targetID: id.rawValue, details: details)
            return user
        }
    }

    public func deleteUser(id: UserID, by who: AuditActor) async throws {
        try await write { tx in
            guard let user = try tx.fetchOne(UserRecord.self, id: id) else { throw StoreError.notFound("user") }
            if user.role == .admin, try isLastActiveAdmin(tx, user.id) {
                throw StoreError.conflict("\(user.username) is the last active admin; make another admin first")
            }
            try tx.delete(UserRecord.self, id: user.id)
            try audit(tx, who, action: "user.delete", targetType: "user", targetID: id.rawValue,
                      details: ["username": user.username])
        }
    }

    private func isLastActiveAdmin(_ tx: any StoreTransaction, _ id: UserID) throws -> Bool {
        try tx.count("SELECT COUNT(*) FROM users WHERE role = ? AND disabled = 0 AND id <> ?", [Role.admin, id]) == 0
    }

    /// Records a successful login, replacing the stored hash when it was made
    /// with weaker parameters than today's.
    public func recordLogin(userID: UserID, rehashedPassword: String?, by who: AuditActor) async throws {
        try await write { tx in
            if let rehashedPassword {
                try tx.execute("UPDATE users SET password_hash = ? WHERE id = ?", [rehashedPassword, userID])
            }
            try tx.execute("UPDATE users SET last_login_at = ? WHERE id = ?", [Date(), userID])
            try audit(tx, who, action: "auth.login", targetType: "user", targetID: userID.rawValue)
        }
    }

    public func recordFailedLogin(username: String, by who: AuditActor) async throws {
        try await write { tx in
            try audit(tx, who, action: "auth.login_failed", targetType: "user", details: ["username": String(username.prefix(64))])
        }
    }

    // MARK: Sessions

    public func createSession(
        userID: UserID, tokenHash: String, lifetime: Duration, userAgent: String, ip: String
    ) async throws {
        try await write { tx in
            let now = Date()
            try tx.insert(SessionRecord(
                id: .random(), userId: userID, tokenHash: tokenHash, createdAt: now,
                expiresAt: now.addingTimeInterval(lifetime.timeInterval), lastSeenAt: now,
                userAgent: String(userAgent.prefix(256)), ip: ip))
        }
    }

    /// The active user behind a session token hash, or nil when the session
    /// is unknown, expired or its user disabled.
    public func userForSession(tokenHash: String) async throws -> UserRecord? {
        let now = Date()
        let found: (SessionRecord, UserRecord)? = try await read { tx in
            guard let session = try tx.fetchOne(SessionRecord.self, "SELECT * FROM sessions WHERE token_hash = ?", [tokenHash]),
                session.expiresAt > now,
                let user = try tx.fetchOne(UserRecord.self, id: session.userId), !user.disabled
            else { return nil }
            return (session, user)
        }
        guard let (session, user) = found else { return nil }
        // Only write when last_seen is stale, so reads stay reads.
        if now.timeIntervalSince(session.lastSeenAt) > 60 {
            try await write { tx in
                try tx.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", [now, session.id])
            }
        }
        return user
    }

    public func deleteSession(tokenHash: String, by who: AuditActor) async throws {
        try await write { tx in
            let deleted = try tx.execute("DELETE FROM sessions WHERE token_hash = ?", [tokenHash])
            if deleted > 0 { try audit(tx, who, action: "auth.logout") }
        }
    }

    // MARK: API tokens

    public func createAPIToken(
        userID: UserID, name: String, tokenHash: String, expiresAt: Date?, by who: AuditActor
    ) async throws -> APITokenRecord {
        try await write { tx in
            let token = APITokenRecord(
                id: .random(), userId: userID, name: name, tokenHash: tokenHash, createdAt: Date(), lastUsedAt: nil,
                expiresAt: expiresAt)
            try tx.insert(token)
            try audit(tx, who, action: "api_token.create", targetType: "api_token", targetID: token.id.rawValue,
                      details: ["name": name])
            return token
        }
    }

    public func listAPITokens(userID: UserID, page: Page) async throws -> PageResult<APITokenRecord> {
        try await read { tx in
            try fetchPage(tx, APITokenRecord.self, SQLConditions("user_id = ?", [userID]), page: page)
        }
    }

    public func deleteAPIToken(id: APITokenID, userID: UserID, by who: AuditActor) async throws {
        try await write { tx in
            let deleted = try tx.execute("DELETE FROM api_tokens WHERE id = ? AND user_id = ?", [id, userID])
            guard deleted > 0 else { throw StoreError.notFound("API token") }
            try audit(tx, who, action: "api_token.delete", targetType: "api_token", targetID: id.rawValue)
        }
    }

    /// The active user behind an API token hash; stamps `last_used_at`.
    public func userForAPIToken(tokenHash: String) async throws -> UserRecord? {
        let now = Date()
        return try await write { tx in
            guard let token = try tx.fetchOne(APITokenRecord.self, "SELECT * FROM api_tokens WHERE token_hash = ?", [tokenHash]),
                token.expiresAt.map({ $0 > now }) ?? true,
                let user = try tx.fetchOne(UserRecord.self, id: token.userId), !user.disabled
            else { return nil }
            if now.timeIntervalSince(token.lastUsedAt ?? .distantPast) > 60 {
                try tx.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now, token.id])
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
