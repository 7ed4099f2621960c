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
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // The system BLAS: OpenBLAS on Linux (libopenblas-dev), Accelerate on macOS.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // fp16 matrix-vector product for the batch-1 output layer (C for the F16C/NEON intrinsics).
        .target(name: "CHalfKernels"),
        .target(
            name: "NextWord",
            dependencies: [
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                "CHalfKernels",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // The interactive terminal front end: key decoding, line editing, rendering, the REPL loop.
        .target(name: "NextWordREPL", dependencies: ["NextWord"]),
        .executableTarget(
            name: "nextword",
            dependencies: [
                "NextWord",
                "NextWordREPL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .testTarget(
            name: "NextWordTests",
            dependencies: ["NextWord", "NextWordREPL"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
