import QuarryCore
import Synchronization

/// Counts each tenant's ingest jobs (queued or running) in this process and refuses one more
/// once a tenant has as many as its tier allows.
///
/// `acquire` when a job is accepted, and keep the slot with the job until it ends, however it
/// ends; `release()` then (it is idempotent, and a slot that is dropped releases itself, so a
/// forgotten release cannot lock a tenant out for good). The count is per process: each node of
/// a PostgreSQL deployment runs its own jobs and counts its own.
public final class IngestJobLimiter: Sendable {
    private let running = Mutex<[String: Int]>([:])

    /// Creates a limiter with no jobs.
    public init() {}

    /// Takes a slot for a new job of `tenant`.
    /// - Parameters:
    ///   - tenant: the tenant the job ingests for.
    ///   - limit: its `EffectiveLimits.ingestJobs`; `nil` for no limit (the job still counts).
    /// - Returns: the slot to release when the job ends.
    /// - Throws: `QuarryError(.rateLimited)` carrying a `LimitExceeded` (`ingest_jobs`, no
    ///   `retryAfter`: only a job ending frees a slot) when the tenant is at its limit.
    public func acquire(tenant: String, limit: Int?) throws -> IngestJobSlot {
        let refused: Int? = running.withLock { running in
            let count = running[tenant, default: 0]
            if let limit, count >= limit { return count }
            running[tenant] = count + 1
            return nil
        }
        if let count = refused {
            let jobs = count == 1 ? "1 ingest job" : "\(count) ingest jobs"
            throw LimitExceeded(
                limit: .ingestJobs,
                message: "tenant '\(tenant)' already has \(jobs) queued or running, as many as its limit allows; "
                    + "wait for one to finish (GET /jobs/{id}) or cancel one, then try again"
            ).error
        }
        return IngestJobSlot(tenant: tenant, limiter: self)
    }

    /// The jobs `tenant` has queued or running.
    public func jobs(tenant: String) -> Int {
        running.withLock { $0[tenant, default: 0] }
    }

    fileprivate func release(tenant: String) {
        running.withLock { running in
            let count = running[tenant, default: 0] - 1
            running[tenant] = count > 0 ? count : nil
        }
    }
}

/// One job's place in its tenant's count of ingest jobs.
public final class IngestJobSlot: Sendable {
    /// The tenant the job ingests for.
    public let tenant: String
    private let limiter: IngestJobLimiter
    private let released = Atomic<Bool>(false)

    fileprivate init(tenant: String, limiter: IngestJobLimiter) {
        self.tenant = tenant
        self.limiter = limiter
    }

    /// Gives the slot back; calls after the first do nothing.
    public func release() {
        if !released.exchange(true, ordering: .acquiringAndReleasing) { limiter.release(tenant: tenant) }
    }

    deinit {
        release()
    }
}
