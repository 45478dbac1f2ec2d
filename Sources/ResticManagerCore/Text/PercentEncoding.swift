import Foundation

extension String {
    /// RFC 3986's unreserved characters (ASCII letters, digits, `-._~`):
    /// everything else is percent-encoded, so the text is safe as a URL's
    /// user, password or query value and a `+` is never read as a space.
    public var percentEncodedUnreserved: String {
        addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? self
    }

    private static let unreserved = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
}
