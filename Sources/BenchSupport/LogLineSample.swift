/// Realistic log payloads: restic's `--json` status lines, ~120 bytes each.
///
/// Precomputed so that neither the agents nor the baseline spend the
/// measured time formatting text; both sides insert exactly these strings.
public enum LogLineSample {
    private static let payloads: [String] = (0..<64).map { index in
        let filesDone = 1_200 + index * 37
        let bytesDone = 734_003_200 + index * 1_048_576
        let percent = Double(bytesDone) / 4_294_967_296
        let line =
            #"{"message_type":"status","percent_done":\#(String(percent).prefix(6)),"#
            + #""total_files":18234,"files_done":\#(filesDone),"bytes_done":\#(bytesDone)}"#
        return line + String(repeating: " ", count: max(0, 120 - line.utf8.count))
    }

    public static func payload(seq: Int64) -> String { payloads[Int(seq % Int64(payloads.count))] }
}
