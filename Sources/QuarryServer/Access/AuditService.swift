import Logging
import QuarryAccess
import QuarryStore
import ServiceLifecycle

/// The audit log as a service: it writes the log's batches to the store while the server runs,
/// and on graceful shutdown writes what it accepted before the store closes (list it after the
/// store and before the server in the service group).
public struct AuditService: Service {
    /// The log requests are recorded in.
    public let log: AuditLog

    /// A log of `store`, keeping queries as `queryMode` says.
    /// - Parameter readOnly: the store takes no writes (a read-only store): each record is
    ///   written to `logger` (notice level, label `audit`, the canonical record) instead, so
    ///   requests neither fail nor wait for a log that cannot be kept.
    public init(store: any AuditStore, queryMode: AuditQueryMode, logger: Logger, readOnly: Bool = false) {
        self.log = AuditLog(
            queryMode: queryMode,
            onWriteFailure: { error in logger.error("the audit log could not be written; retrying: \(error)") }
        ) { records in
            guard !readOnly else {
                for record in records {
                    let json = try record.canonicalJSON()
                    logger.notice("audit", metadata: ["record": "\(json)"])
                }
                return
            }
            _ = try await store.appendAudit(
                try records.map { AuditEntry(at: $0.at, tenant: $0.tenant, record: try $0.canonicalJSON()) }, link: AuditHash.link
            )
        }
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await log.run()
        } onGracefulShutdown: {
            log.finish()
        }
    }
}
