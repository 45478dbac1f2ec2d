import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
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
        let url = endpoint.apiURL(path)
        guard URLComponents(string: url)?.host != nil else { throw ServerHTTPError.invalidURL(url) }
        let seconds = TimeAmount.seconds(max(1, timeout.components.seconds))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tlsConfiguration, redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: seconds, read: seconds)
        // One-shot requests (enroll, the 401 probe): a client each, shut down after.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let response = try await send(client, method, url, headers: headers, json: json, timeout: seconds)
            try await client.shutdown()
            return response
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func send(
        _ client: HTTPClient, _ method: HTTPMethod, _ url: String, headers: [(String, String)], json: Data?,
        timeout: TimeAmount
    ) async throws -> ServerHTTPResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "restic-manager-agent/\(agentVersion)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 1 << 20)
            return ServerHTTPResponse(status: Int(response.status.code), body: Data(body.readableBytesView))
        } catch is NIOTooManyBytesError {
            throw ServerHTTPError.responseTooLarge
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw ServerHTTPError.timedOut
        }
    }
}

/// Why a request to the server failed before it had an answer.
public enum ServerHTTPError: Error, Sendable, CustomStringConvertible {
    case invalidURL(String)
    case responseTooLarge
    case timedOut

    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid URL \(url)"
        case .responseTooLarge: "response larger than 1 MiB"
        case .timedOut: "no answer in time"
        }
    }
}
