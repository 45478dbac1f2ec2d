import Foundation

/// Field checks shared by the controllers. Each throws a validation error
/// that names the field as the client wrote it.
enum Validate {
    static func name(_ value: String, field: String, maxLength: Int = 128) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw APIError.validation(field, "must not be empty") }
        guard trimmed.count <= maxLength else { throw APIError.validation(field, "must be at most \(maxLength) characters") }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.validation(field, "must not contain control characters")
        }
        return trimmed
    }

    /// Free text (notes, secrets). Line breaks are fine; NUL is not: SQLite
    /// and the agent's environment would both cut the value there.
    static func text(_ value: String, field: String, maxLength: Int) throws -> String {
        guard value.count <= maxLength else { throw APIError.validation(field, "must be at most \(maxLength) characters") }
        guard !value.contains("\0") else { throw APIError.validation(field, "must not contain NUL characters") }
        return value
    }

    static func username(_ value: String) throws -> String {
        let name = try Self.name(value, field: "username", maxLength: 64)
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-@"))
        guard name.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII }) else {
            throw APIError.validation("username", "may contain only letters, digits and . _ - @")
        }
        return name
    }

    static func password(_ value: String, field: String = "password") throws -> String {
        if let weakness = PasswordService.weakness(of: value) { throw APIError.validation(field, weakness) }
        return value
    }

    static func role(_ value: String, field: String = "role") throws -> Role {
        guard let role = Role(rawValue: value) else {
            throw APIError.validation(field, "must be one of admin, operator, viewer")
        }
        return role
    }
}

extension Unicode.Scalar {
    fileprivate var isASCII: Bool { value < 128 }
}
