import Foundation
import ResticManagerProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a finished restore wrote, read back from its target (SPEC §10.2:
/// the job lists what it restored in its log and `stats`).
///
/// The target was empty or new when the restore started (the agent allows
/// nothing else), so everything under it came from the snapshot. restic
/// 0.14 prints neither progress nor a summary for `restore`, so this is the
/// job's summary there; from 0.16 on restic's own summary is kept as
/// `stats` and this only lists the files.
struct RestoredFiles: Sendable, Equatable {
    /// Files named one by one in the job log; the rest are counted.
    static let listedFilesLimit = 1000

    var files = 0
    var bytes: Int64 = 0
    var symlinks = 0
    var folders = 0
    /// `/original/path (N bytes)` lines for the first files.
    var listed: [String] = []

    /// Walks `target` without following symbolic links.
    static func scan(target: String) -> RestoredFiles {
        var report = RestoredFiles()
        guard let walker = FileManager.default.enumerator(atPath: target) else { return report }
        while let relative = walker.nextObject() as? String {
            var status = stat()
            guard lstat(target + "/" + relative, &status) == 0 else { continue }
            switch status.st_mode & S_IFMT {
            case S_IFREG:
                report.files += 1
                report.bytes += Int64(status.st_size)
                if report.listed.count < listedFilesLimit { report.listed.append("/\(relative) (\(status.st_size) bytes)") }
            case S_IFLNK:
                report.symlinks += 1
                if report.listed.count < listedFilesLimit { report.listed.append("/\(relative) (symbolic link)") }
            case S_IFDIR:
                report.folders += 1
            default:
                continue
            }
        }
        return report
    }

    /// The job log lines: each restored file, then the totals.
    func logLines(target: String) -> [String] {
        var lines = listed.map { "[agent] restored \($0)" }
        let unlisted = files + symlinks - listed.count
        if unlisted > 0 { lines.append("[agent] … and \(unlisted) more not listed") }
        lines.append(
            "[agent] restored \(files) files (\(bytes) bytes), \(symlinks) symbolic links and \(folders) folders into \(target)")
        return lines
    }

    /// `stats` for a restic that gives no summary, named as restic ≥ 0.16 names them.
    var stats: RawJSON? {
        try? RawJSON(text: "{\"files_restored\":\(files),\"bytes_restored\":\(bytes),\"symlinks_restored\":\(symlinks),\"folders_restored\":\(folders)}")
    }
}
