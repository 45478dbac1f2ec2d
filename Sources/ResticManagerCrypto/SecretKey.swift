#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The 32-byte key behind ``SecretBox``, kept in `<data-dir>/secret.key` (SPEC §8).
///
/// The file holds the raw bytes. Losing or replacing it makes every stored
/// secret unreadable, hence the rules in ``loadOrCreate(at:)``: created once,
/// never overwritten, and a file of the wrong size stops the server instead
/// of being "repaired". Printing a key shows no bytes.
public struct SecretKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Key length for XChaCha20-Poly1305.
    public static let byteCount = 32

    private let bytes: [UInt8]

    /// Wraps existing key material (exactly ``byteCount`` bytes).
    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.byteCount else { throw .invalidKeyLength(bytes.count) }
        self.bytes = bytes
    }

    public var description: String { "SecretKey(\(Self.byteCount) bytes, redacted)" }
    public var debugDescription: String { description }
    /// Keeps `dump()` and test failure output from printing the bytes.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    func withBytes<R>(_ body: (UnsafePointer<UInt8>) -> R) -> R {
        bytes.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Loads <path>; if missing, generates 32 random bytes and writes it with mode 0600 (O_CREAT|O_EXCL — never overwrite). Wrong size, wrong permissions readable by group/others (refuse, say how to fix: chmod 600), unreadable → CryptoError.
    ///
    /// Any group or other permission bit (mode & 0o077) is refused, not only
    /// read bits: a key others can write is as bad as one they can read.
    /// - Returns: the key, and whether this call created the file.
    public static func loadOrCreate(at path: String) throws(CryptoError) -> (key: SecretKey, created: Bool) {
        try CryptoRuntime.ensureReady()
        // Two attempts: if another process creates the file between our
        // failed open and our O_EXCL create, load theirs.
        for _ in 0..<2 {
            if let key = try load(at: path) { return (key, false) }
            if let key = try create(at: path) { return (key, true) }
        }
        throw .keyFileUnreadable(path: path, reason: "it keeps appearing and disappearing")
    }

    /// Nil when the file does not exist.
    private static func load(at path: String) throws(CryptoError) -> SecretKey? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw .keyFileUnreadable(path: path, reason: describe(code))
        }
        defer { close(fd) }

        // fstat on the open descriptor, so the checks apply to the file we read.
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .keyFileUnreadable(path: path, reason: describe(errno)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .keyFileUnreadable(path: path, reason: "not a regular file")
        }
        let permissions = UInt32(info.st_mode) & 0o777
        guard permissions & 0o077 == 0 else {
            throw .keyFileInsecurePermissions(path: path, mode: permissions)
        }

        // Read one byte more than needed, so an oversized file is caught even
        // if it grew after fstat.
        var buffer = [UInt8](repeating: 0, count: byteCount + 1)
        var filled = 0
        while filled < buffer.count {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                let code = errno
                buffer.wipe()
                throw .keyFileUnreadable(path: path, reason: describe(code))
            }
            filled += count
        }
        guard filled == byteCount else {
            buffer.wipe()
            throw .keyFileWrongSize(path: path, size: max(filled, Int(info.st_size)))
        }
        let key = try SecretKey(bytes: Array(buffer.prefix(byteCount)))
        buffer.wipe()
        return key
    }

    /// Nil when someone else created the file first (EEXIST).
    private static func create(at path: String) throws(CryptoError) -> SecretKey? {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(0o600))
        if fd < 0 {
            let code = errno
            if code == EEXIST { return nil }
            throw .keyFileNotCreatable(path: path, reason: describe(code))
        }
        var bytes = CryptoRuntime.randomBytes(byteCount)
        defer { bytes.wipe() }

        // We created this file, so removing it after a failure overwrites
        // nothing; leaving a short file would block the next start.
        func fail(_ code: Int32) -> CryptoError {
            close(fd)
            unlink(path)
            return .keyFileNotCreatable(path: path, reason: describe(code))
        }
        // A restrictive umask can only remove bits; this makes 0600 exact.
        guard fchmod(fd, mode_t(0o600)) == 0 else { throw fail(errno) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw fail(errno)
            }
            written += count
        }
        // The key must be on disk before any secret is encrypted with it.
        guard fsync(fd) == 0 else { throw fail(errno) }
        close(fd)
        syncParentDirectory(of: path)
        return try SecretKey(bytes: bytes)
    }

    /// Makes the new directory entry durable; best effort (some filesystems
    /// refuse fsync on directories, and the file itself is already synced).
    private static func syncParentDirectory(of path: String) {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let fd = open(directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
