import Foundation
import ResticManagerCore
import ResticManagerProtocol

/// Reads `restic ls --json SNAPSHOT PATH` line by line into one folder's
/// listing (SPEC §10.1).
///
/// restic 0.14 prints the snapshot object first, then the node of `PATH`
/// itself (none for `/`), then its children. An unknown snapshot prints
/// nothing on stdout and a path that is not in the snapshot prints only the
/// snapshot line, both with exit code 0, so "not found" is read from what
/// is missing. Children past ``SnapshotLsResult/maxNodes``, or past what
/// fits in one frame, are counted as ``truncated`` and dropped.
struct SnapshotListing {
    /// Room left in a 1 MiB frame for the nodes, after the envelope and the
    /// result's other fields.
    static let nodeBytesBudget = FrameLimits.maxFrameBytes - 64 * 1024

    let snapshotID: String
    /// The folder, normalized (`/srv/a`, `/` for the root).
    let path: String
    private(set) var nodes: [SnapshotNode] = []
    private(set) var truncated = false
    private var sawSnapshot = false
    private var folderType: String?
    private var nodeBytes = 0

    init(snapshotID: String, path: String) {
        self.snapshotID = snapshotID
        self.path = RestoreArguments.normalizedFolder(path)
    }

    mutating func consume(_ line: String) {
        guard let first = line.first(where: { !$0.isWhitespace }), first == "{",
            let object = JSONValue.parse(line)
        else { return }
        switch object["struct_type"]?.stringValue {
        case "snapshot":
            sawSnapshot = true
        case "node":
            guard let nodePath = object["path"]?.stringValue, let type = object["type"]?.stringValue else { return }
            if nodePath == path {
                folderType = type
                return
            }
            guard Self.parent(of: nodePath) == path else { return }
            let node = SnapshotNode(
                name: object["name"]?.stringValue ?? "", type: type, path: nodePath,
                size: object["size"]?.int64Value ?? 0,
                mtime: object["mtime"]?.stringValue.flatMap(RFC3339.parse), mode: object["mode"]?.int64Value ?? 0)
            let size = node.encodedSize
            guard nodes.count < SnapshotLsResult.maxNodes, nodeBytes + size <= Self.nodeBytesBudget else {
                truncated = true
                return
            }
            nodes.append(node)
            nodeBytes += size
        default:
            return
        }
    }

    /// The answer once restic has exited successfully.
    func result(requestID: String) -> SnapshotLsResult {
        guard sawSnapshot else {
            return .failure(requestID: requestID, path: path, .snapshotNotFound,
                            "snapshot \(snapshotID) is not in the repository")
        }
        if path != "/" {
            guard let folderType else {
                return .failure(requestID: requestID, path: path, .pathNotFound,
                                "\(path) is not in snapshot \(snapshotID)")
            }
            guard folderType == "dir" else {
                return .failure(requestID: requestID, path: path, .notADirectory,
                                "\(path) is a \(folderType) in snapshot \(snapshotID), not a folder")
            }
        }
        return SnapshotLsResult(requestID: requestID, path: path, nodes: nodes, truncated: truncated)
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
