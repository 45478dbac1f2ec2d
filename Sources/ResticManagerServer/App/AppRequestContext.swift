import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// How a request proved who it is.
public enum Credential: Sendable, Equatable {
    /// Browser session cookie; unsafe methods also need the CSRF token.
    case session(tokenHash: String)
    /// `Authorization: Bearer rma_…`.
    case apiToken
}

/// The signed-in user behind a request.
public struct Principal: Sendable, Equatable {
    public let user: UserRecord
    public let credential: Credential
}

/// The context of every HTTP request before authentication.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthenticationMiddleware` when the request carries valid credentials.
    public var principal: Principal?
    /// The client's address: the peer's, or behind a trusted proxy the one
    /// it forwarded (set by ``ClientAddressMiddleware``).
    public var remoteIP: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress ?? ""
    }

    public var requestDecoder: APIRequestDecoder { APIRequestDecoder() }
    public var responseEncoder: JSONEncoder { APIJSON.makeEncoder() }
    /// Request bodies above this are refused with 413.
    public var maxUploadSize: Int { 1 << 20 }
}

/// The context behind authentication: a user always exists here, so
/// handlers cannot forget to check for one.
public struct AuthenticatedContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let principal: Principal
    public let remoteIP: String

    public init(context: AppRequestContext) throws {
        guard let principal = context.principal else { throw APIError.unauthenticated }
        coreContext = context.coreContext
        self.principal = principal
        remoteIP = context.remoteIP
    }

    public var user: UserRecord { principal.user }
    public var requestDecoder: APIRequestDecoder { APIRequestDecoder() }
    public var responseEncoder: JSONEncoder { APIJSON.makeEncoder() }
    public var maxUploadSize: Int { 1 << 20 }

    /// Throws 403 unless the user holds at least `role`.
    public func require(_ role: Role) throws {
        try Self.require(role, of: user)
    }

    static func require(_ role: Role, of user: UserRecord) throws {
        guard user.role >= role else {
            throw APIError.forbidden("this needs the \(role.rawValue) role; you are \(user.role.rawValue)")
        }
    }

    /// The audit identity of this request.
    public var auditActor: AuditActor { AuditActor(actor: "user:\(user.username)", ip: remoteIP) }
}

/// The context of the agent WebSocket upgrade; `hostID` is set by
/// `AgentTokenMiddleware` when the bearer token is a valid agent token.
public struct AgentSocketContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<AgentSocketContext>
    public var hostID: HostID?
    /// The hash of the agent token that resolved to `hostID`.
    public var agentTokenHash: String?
    public var remoteIP: String
    /// The connection being upgraded, to shape the answer when the upgrade is declined.
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteIP = source.channel.remoteAddress?.ipAddress ?? ""
        channel = source.channel
    }
}

/// Decodes JSON request bodies and turns decoding failures into validation
/// errors that name the offending field.
public struct APIRequestDecoder: RequestDecoder {
    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw APIError(status: .contentTooLarge, code: "too_large",
                           message: "request body is larger than \(context.maxUploadSize) bytes")
        }
        // Only JSON: an HTML form on another site can post text/plain or a
        // form encoding without a CORS preflight, JSON it cannot.
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") || contentType.contains("+json") else {
            throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type",
                           message: "send the body as JSON with Content-Type: application/json")
        }
        do {
            return try APIJSON.makeDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw APIError(decoding: error)
        }
    }
}

extension APIError {
    init(decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey]) -> String {
            let parts = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? APIJSON.snakeCase(key.stringValue) }
            return parts.isEmpty ? "body" : parts.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            self = .validation(path(context.codingPath + [key]), "is required")
        case .typeMismatch(let type, let context):
            self = .validation(path(context.codingPath), "expected \(Self.jsonTypeName(type))")
        case .valueNotFound(let type, let context):
            self = .validation(path(context.codingPath), "expected \(Self.jsonTypeName(type)), got null")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                self = .validation("body", "is not valid JSON")
            } else {
                self = .validation(path(context.codingPath), context.debugDescription)
            }
        @unknown default:
            self = .validation("body", "could not be decoded")
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}

extension AuthenticatedContext: AccessEnforcing {
    func enforce(_ access: Access) throws {
        if let role = access.minimumRole { try require(role) }
    }
}

extension AppRequestContext: AccessEnforcing {
    /// Routes outside the signed-in group (e.g. `/metrics`) still declare
    /// who may call them.
    func enforce(_ access: Access) throws {
        guard let role = access.minimumRole else { return }
        guard let principal else { throw APIError.unauthenticated }
        try AuthenticatedContext.require(role, of: principal.user)
    }
}
