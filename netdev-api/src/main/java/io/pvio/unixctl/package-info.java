/** Commands that {@code pvio appctl} reaches in the running daemon. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.pvio.unixctl;
