import Foundation
import QuarryIngest
import Synchronization

/// Shows ingest progress on standard error: a bar redrawn in place on a terminal, a plain line
/// every few seconds otherwise (logs, CI).
final class ProgressDisplay: Sendable {
    private let terminal: Bool
    private let lastLine = Mutex<ContinuousClock.Instant?>(nil)
    private let drewBar = Atomic<Bool>(false)

    init(terminal: Bool) {
        self.terminal = terminal
    }

    func show(_ progress: IngestProgress) {
        let now = ContinuousClock.now
        let due = lastLine.withLock { last in
            let interval: Duration = terminal ? .milliseconds(100) : .seconds(5)
            guard last.map({ now - $0 >= interval }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        let seconds = max(1e-3, Double(progress.elapsed.components.seconds) + Double(progress.elapsed.components.attoseconds) / 1e18)
        let rate = Double(progress.chunksWritten) / seconds
        let fraction = progress.fraction
        let eta = fraction > 0 && fraction < 1 ? Self.duration(seconds * (1 - fraction) / fraction) : "--"
        let counts = "\(progress.filesDone)/\(progress.filesTotal) files, \(progress.chunksWritten) chunks, \(String(format: "%.0f", rate)) chunks/s, ETA \(eta)"
        if terminal {
            let width = 30
            let filled = Int((fraction * Double(width)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(String(format: "%3.0f", fraction * 100))% \(counts)".utf8))
            drewBar.store(true, ordering: .relaxed)
        } else {
            FileHandle.standardError.write(Data("progress: \(counts)\n".utf8))
        }
    }

    /// Ends the bar's line.
    func finish() {
        if drewBar.load(ordering: .relaxed) { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600 ? "\(total / 3600)h\(total % 3600 / 60)m" : total >= 60 ? "\(total / 60)m\(total % 60)s" : "\(total)s"
    }
}
