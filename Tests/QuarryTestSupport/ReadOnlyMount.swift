import Foundation

/// A read-only bind mount of a directory (root only).
public struct ReadOnlyMount: Sendable {
    /// Where the mount is.
    public let url: URL

    /// Whether this process can make one: root, allowed to mount (not every container is).
    public static let isAvailable: Bool = {
        guard getuid() == 0, let probe = try? TemporaryDirectory() else { return false }
        defer { probe.cleanUp() }
        let source = probe.url.appendingPathComponent("source")
        guard (try? FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)) != nil,
            let mount = try? ReadOnlyMount(source, at: probe.url.appendingPathComponent("target"))
        else { return false }
        mount.unmount()
        return true
    }()

    /// Mounts `source` read-only at `target` (created).
    public init(_ source: URL, at target: URL) throws {
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try Self.run("mount", ["--bind", source.path, target.path])
        do {
            try Self.run("mount", ["-o", "remount,bind,ro", target.path])
        } catch {
            try? Self.run("umount", [target.path])
            throw error
        }
        url = target
    }

    /// Unmounts it.
    public func unmount() {
        try? Self.run("umount", [url.path])
    }

    private static func run(_ command: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(command: ([command] + arguments).joined(separator: " "), status: process.terminationStatus)
        }
    }
}

/// A command a test ran exited with a failure.
public struct CommandFailed: Error, CustomStringConvertible {
    public var command: String
    public var status: Int32
    public var description: String { "\(command) exited \(status)" }

    public init(command: String, status: Int32) {
        self.command = command
        self.status = status
    }
}
