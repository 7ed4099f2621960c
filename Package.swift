// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "NextWord",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "NextWord", targets: ["NextWord"]),
        .executable(name: "nextword", targets: ["nextword"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // The service (`nextword serve`): HTTP, graceful shutdown, Prometheus metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The BLAS: OpenBLAS on Linux, loaded at run time (Support/BLASLibrary.swift; Debian's
        // libopenblas0), Accelerate on macOS.
        // SHA-256 from the system's libcrypto (CommonCrypto on macOS).
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // cpuid: what the processor supports, for the BLAS kernel diagnosis.
        .target(name: "CCPUInfo"),
        // fp16 matrix-vector product for the batch-1 output layer (C for the F16C/NEON intrinsics).
        .target(name: "CKernels"),
        .target(
            name: "NextWord",
            dependencies: [
                .target(name: "CLibCrypto", condition: .when(platforms: [.linux])),
                "CKernels",
                "CCPUInfo",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The interactive terminal front end: key decoding, line editing, rendering, the REPL loop.
        .target(name: "NextWordREPL", dependencies: ["NextWord"]),
        // The long-running suggestion service: many users' engines over one shared model, behind a
        // versioned JSON API (Hummingbird 2), with Prometheus metrics and graceful shutdown.
        .target(
            name: "NextWordService",
            dependencies: [
                "NextWord",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "nextword",
            dependencies: [
                "NextWord",
                "NextWordREPL",
                "NextWordService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .testTarget(
            name: "NextWordTests",
            dependencies: [
                "NextWord", "NextWordREPL", "NextWordService",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                // To hold a history's write lock from a child process, as another program would.
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ]
)
