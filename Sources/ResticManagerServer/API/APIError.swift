import Foundation
import HTTPTypes
import Hummingbird

/// An error answered as `{"error": {"code", "message", "fields"?}}` with a
/// fitting status (SPEC §7). Messages say what happened and what to do;
/// they never carry a secret.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let fields: [String: String]?
    public var headers: HTTPFields = [:]

    public init(status: HTTPResponse.Status, code: String, message: String, fields: [String: String]? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
    }

    public static func validation(_ field: String, _ reason: String) -> APIError {
        APIError(status: .badRequest, code: "validation_failed", message: "\(field): \(reason)", fields: [field: reason])
    }

    public static let unauthenticated = APIError(
        status: .unauthorized, code: "unauthenticated", message: "sign in or send a valid bearer token")

    public static func forbidden(_ message: String) -> APIError {
        APIError(status: .forbidden, code: "forbidden", message: message)
    }

    public static func notFound(_ what: String) -> APIError {
        APIError(status: .notFound, code: "not_found", message: "\(what) not found")
    }

    public static func conflict(_ message: String) -> APIError {
        APIError(status: .conflict, code: "conflict", message: message)
    }

    public static func tooManyRequests(retryAfter seconds: Int) -> APIError {
        var error = APIError(
            status: .tooManyRequests, code: "rate_limited",
            message: "too many failed attempts; try again in \(seconds) s")
        error.headers[.retryAfter] = String(seconds)
        return error
    }

    private struct Body: Encodable {
        struct Inner: Encodable {
            let code: String
            let message: String
            let fields: [String: String]?
        }
        let error: Inner
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder.sortedKeys.encode(Body(error: .init(code: code, message: message, fields: fields)))
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension APIError {
    /// Maps store errors to API answers.
    init(_ error: StoreError) {
        switch error {
        case .notFound(let what): self = .notFound(what)
        case .conflict(let message): self = .conflict(message)
        case .invalid(let message):
            let field = message.split(separator: ":").first.map(String.init) ?? "body"
            self = APIError(status: .badRequest, code: "validation_failed", message: message,
                            fields: [field: message])
        }
    }
}
