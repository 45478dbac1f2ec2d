import Foundation
import Hummingbird

/// The fields of a submitted HTML form (`application/x-www-form-urlencoded`).
/// Percent-decoding is Hummingbird's `URLEncodedFormDecoder`; this type only
/// adds the shapes forms use: trimmed text, one entry per line, checkboxes.
struct FormFields: Sendable {
    /// Larger bodies are refused with 413 before anything is parsed.
    static let maxBytes = 256 * 1024

    /// The refusal a page answers by showing its form again, with what was
    /// typed and the message (invalid input, a role that may not, a
    /// conflict); nil for anything else, which gets the error page.
    static func refusalShownOnTheForm(_ error: any Error) -> APIError? {
        let refusal: APIError
        switch error {
        case let error as APIError: refusal = error
        case let error as StoreError: refusal = APIError(error)
        default: return nil
        }
        return [.badRequest, .forbidden, .conflict].contains(refusal.status) ? refusal : nil
    }

    private let values: [String: String]

    init(values: [String: String]) {
        self.values = values
    }

    /// Reads the body, keeping it on `request` so handlers can read it again.
    static func collect(_ request: inout Request) async throws -> FormFields {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type",
                           message: "send the form as application/x-www-form-urlencoded")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBytes)
        } catch {
            throw APIError(status: .contentTooLarge, code: "too_large",
                           message: "the form is larger than \(maxBytes / 1024) KiB; shorten the longest field")
        }
        let values: [String: String]
        do {
            values = try URLEncodedFormDecoder().decode([String: String].self, from: String(buffer: buffer))
        } catch {
            throw APIError.validation("form", "could not be read; submit it from the page again")
        }
        // Checked after decoding: browsers send NUL as %00.
        if let field = values.first(where: { $0.key.contains("\0") || $0.value.contains("\0") })?.key {
            throw APIError.validation(field.contains("\0") ? "form" : field, "must not contain NUL characters")
        }
        return FormFields(values: values)
    }

    /// The form of a page request. The middleware has already collected the
    /// body (and checked its CSRF token), so this only parses it again.
    static func of(_ request: Request) async throws -> FormFields {
        var request = request
        return try await collect(&request)
    }

    /// The values of every field named `prefix…`, in the order of their names
    /// (a list of checkboxes named `include-0`, `include-1`, …).
    func values(named prefix: String) -> [String] {
        values.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key.localizedStandardCompare($1.key) == .orderedAscending }
            .map(\.value)
    }

    /// The raw value, nil when the field was not sent.
    subscript(_ name: String) -> String? { values[name] }

    /// The value with surrounding whitespace removed; "" when absent.
    func text(_ name: String) -> String {
        (values[name] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The value if it has anything but whitespace.
    func optionalText(_ name: String) -> String? {
        let value = text(name)
        return value.isEmpty ? nil : value
    }

    /// A textarea with one entry per line; blank lines are dropped.
    func lines(_ name: String) -> [String] {
        (values[name] ?? "").split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A comma-separated input.
    func commaList(_ name: String) -> [String] {
        (values[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// A checkbox: present means checked.
    func isChecked(_ name: String) -> Bool { values[name] != nil }
}
