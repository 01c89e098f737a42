// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Quarry",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "quarry", targets: ["quarry"]),
        .library(name: "QuarryKernels", targets: ["QuarryKernels"]),
        .library(name: "QuarryHNSW", targets: ["QuarryHNSW"]),
        .library(name: "QuarryEmbedding", targets: ["QuarryEmbedding"]),
        .library(name: "QuarryErrors", targets: ["QuarryErrors"]),
        .library(name: "QuarryCore", targets: ["QuarryCore"]),
        .library(name: "QuarryStore", targets: ["QuarryStore"]),
        .library(name: "QuarryIngest", targets: ["QuarryIngest"]),
        .library(name: "QuarryRetrieval", targets: ["QuarryRetrieval"]),
        .library(name: "QuarryConfig", targets: ["QuarryConfig"]),
        .library(name: "QuarryAccess", targets: ["QuarryAccess"]),
        .library(name: "QuarryServer", targets: ["QuarryServer"]),
        .library(name: "QuarryEval", targets: ["QuarryEval"]),
        .library(name: "QuarryGuard", targets: ["QuarryGuard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // System-library shims: a module map and a header, nothing else.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ"),
        .systemLibrary(name: "CPrefetch", path: "Sources/CPrefetch"),

        // Libraries that stand on their own, and the one error type they share with the rest.
        .target(name: "QuarryErrors", swiftSettings: swiftSettings),
        .target(name: "QuarryDigest", swiftSettings: swiftSettings),
        .target(name: "QuarryKernels", dependencies: ["CBLAS"], swiftSettings: swiftSettings),
        // The encoder's bfloat16 products (AVX-512 BF16 intrinsics, chosen at run time),
        // optimised in debug builds too.
        .target(name: "CQuarryBF16", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        .target(name: "QuarryHNSW", dependencies: ["QuarryKernels", "CPrefetch"], swiftSettings: swiftSettings),
        .target(
            name: "QuarryEmbedding",
            dependencies: ["QuarryDigest", "QuarryErrors", "CBLAS", "CQuarryBF16"],
            // Optimised in debug builds too: the small-batch products are SIMD loops that run
            // hundreds of times slower unoptimised, and every test that embeds a query uses them.
            swiftSettings: swiftSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),

        // Measurements for `quarry bench`, kept out of the libraries they measure.
        .target(
            name: "QuarryBenchmarks",
            dependencies: ["QuarryKernels", "QuarryHNSW", "QuarryEmbedding", "CBLAS"],
            swiftSettings: swiftSettings
        ),

        // Service layers.
        .target(name: "QuarryCore", dependencies: ["QuarryErrors"], swiftSettings: swiftSettings),
        // Guards over text: personal-data recognisers and the prompt-injection scorer.
        .target(name: "QuarryGuard", dependencies: ["QuarryCore"], swiftSettings: swiftSettings),
        .target(
            name: "QuarryStore",
            dependencies: [
                "QuarryCore", "QuarryKernels", "QuarryHNSW", "QuarryEmbedding", "CSQLite", "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "QuarryIngest",
            dependencies: [
                "QuarryCore", "QuarryStore", "QuarryEmbedding", "QuarryDigest", "QuarryGuard",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "QuarryRetrieval",
            dependencies: [
                "QuarryCore", "QuarryStore", "QuarryEmbedding", "QuarryKernels", "QuarryGuard",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "QuarryEval",
            dependencies: ["QuarryCore", "QuarryStore", "QuarryEmbedding", "QuarryIngest", "QuarryRetrieval"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "QuarryConfig",
            dependencies: ["QuarryAccess", "QuarryCore", "QuarryEmbedding", "QuarryGuard", "QuarryHNSW", "QuarryStore", "QuarryRetrieval"],
            swiftSettings: swiftSettings
        ),
        .target(name: "QuarryAccess", dependencies: ["QuarryCore", "QuarryDigest", "QuarryStore"], swiftSettings: swiftSettings),
        .target(
            name: "QuarryServer",
            dependencies: [
                "QuarryAccess", "QuarryCore", "QuarryEval", "QuarryGuard", "QuarryRetrieval", "QuarryIngest", "QuarryStore", "QuarryEmbedding",
                "QuarryHNSW", "QuarryKernels", "QuarryDigest",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The web console's files, embedded in the code by the plugin (served from disk
            // instead when QUARRY_CONSOLE_DIR is set).
            exclude: ["Console/site"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedConsole"]
        ),
        .executableTarget(name: "console-embedder", swiftSettings: swiftSettings),
        .plugin(name: "EmbedConsole", capability: .buildTool(), dependencies: ["console-embedder"]),
        .executableTarget(
            name: "quarry",
            dependencies: [
                "QuarryCore", "QuarryEmbedding", "QuarryHNSW", "QuarryStore", "QuarryIngest", "QuarryRetrieval",
                "QuarryConfig", "QuarryServer", "QuarryEval", "QuarryBenchmarks", "QuarryAccess", "QuarryGuard", "CBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Tests: one target per module, and doubles they share.
        .target(
            name: "QuarryTestSupport",
            dependencies: ["QuarryEmbedding", "QuarryKernels", "QuarryStore", "QuarryHNSW"],
            path: "Tests/QuarryTestSupport"
        ),
        .testTarget(name: "QuarryDigestTests", dependencies: ["QuarryDigest"]),
        .testTarget(name: "QuarryKernelsTests", dependencies: ["QuarryKernels"]),
        .testTarget(name: "QuarryCoreTests", dependencies: ["QuarryCore"]),
        .testTarget(name: "QuarryGuardTests", dependencies: ["QuarryGuard"]),
        .testTarget(name: "QuarryAccessTests", dependencies: ["QuarryAccess", "QuarryCore", "QuarryStore", "QuarryTestSupport"]),
        .testTarget(name: "QuarryHNSWTests", dependencies: ["QuarryHNSW", "QuarryKernels"]),
        .testTarget(
            name: "QuarryEmbeddingTests",
            dependencies: ["QuarryEmbedding", "QuarryErrors"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "QuarryStoreTests", dependencies: ["QuarryStore", "QuarryTestSupport", "CLibPQ"], resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "QuarryIngestTests",
            dependencies: ["QuarryIngest", "QuarryGuard", "QuarryTestSupport"],
            exclude: ["Fixtures/make_fixtures.py"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "QuarryRetrievalTests",
            dependencies: ["QuarryRetrieval", "QuarryGuard", "QuarryIngest", "QuarryTestSupport"]
        ),
        .testTarget(
            name: "QuarryEvalTests",
            dependencies: ["QuarryEval", "QuarryCore", "QuarryEmbedding", "QuarryIngest", "QuarryRetrieval", "QuarryStore", "QuarryTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "QuarryConfigTests",
            dependencies: [
                "QuarryConfig", "QuarryCore", "QuarryGuard", "QuarryRetrieval", "QuarryTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "QuarryServerTests",
            dependencies: [
                "QuarryServer", "QuarryAccess", "QuarryDigest", "QuarryIngest", "QuarryEval", "QuarryTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
