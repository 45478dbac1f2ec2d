import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A response from ``ServerHTTPClient``.
public struct ServerHTTPResponse: Sendable {
    public var status: Int
    public var body: Data
}

/// One-shot HTTP(S) requests to the server (enroll, the 401 probe) over the
/// same TLS stack and trust roots as the WebSocket: verified certificates,
/// plus the `--ca-file` CAs.
public struct ServerHTTPClient: Sendable {
    let endpoint: ServerEndpoint
    let tlsConfiguration: TLSConfiguration?

    public init(endpoint: ServerEndpoint, caFile: String?) {
        self.endpoint = endpoint
        self.tlsConfiguration = endpoint.usesTLS ? Self.tls(caFile: caFile) : nil
    }

    static func tls(caFile: String?) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile { tls.additionalTrustRoots = [.file(caFile)] }
        return tls
    }

    /// Sends one request to `/api/v1<path>` and reads the whole answer (at most 1 MiB).
    public func request(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], json: Data? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> ServerHTTPResponse {
        guard let url = URLComponents(string: endpoint.apiURL(path)), let host = url.host else {
            throw ServerHTTPError.invalidURL(endpoint.apiURL(path))
        }
        let port = url.port ?? (endpoint.usesTLS ? 443 : 80)
        let sslContext = try tlsConfiguration.map { try NIOSSLContext(configuration: $0) }
        let timeoutSeconds = Int64(timeout.components.seconds)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(timeoutSeconds))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: sslContext, serverHostname: host))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await withThrowingTaskGroup(of: ServerHTTPResponse?.self) { group in
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    var head = HTTPRequestHead(version: .http1_1, method: method, uri: url.percentEncodedPath)
                    head.headers.add(name: "Host", value: url.port.map { "\(host):\($0)" } ?? host)
                    head.headers.add(name: "Connection", value: "close")
                    head.headers.add(name: "User-Agent", value: "restic-manager-agent/\(agentVersion)")
                    for (name, value) in headers { head.headers.add(name: name, value: value) }
                    if let json {
                        head.headers.add(name: "Content-Type", value: "application/json")
                        head.headers.add(name: "Content-Length", value: "\(json.count)")
                    }
                    try await outbound.write(.head(head))
                    if let json { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: json)))) }
                    try await outbound.write(.end(nil))
                    var status = 0
                    var body = Data()
                    for try await part in inbound {
                        switch part {
                        case .head(let response): status = Int(response.status.code)
                        case .body(let buffer):
                            guard body.count + buffer.readableBytes <= 1 << 20 else {
                                throw ServerHTTPError.responseTooLarge
                            }
                            body.append(contentsOf: buffer.readableBytesView)
                        case .end: return ServerHTTPResponse(status: status, body: body)
                        }
                    }
                    throw ServerHTTPError.connectionClosed
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw ServerHTTPError.timedOut
            }
            return response
        }
    }
}

/// Why a request to the server failed before it had an answer.
public enum ServerHTTPError: Error, Sendable, CustomStringConvertible {
    case invalidURL(String)
    case responseTooLarge
    case connectionClosed
    case timedOut

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid URL \(url)"
        case .responseTooLarge: "response larger than 1 MiB"
        case .connectionClosed: "the server closed the connection before answering"
        case .timedOut: "no answer in time"
        }
    }
}
