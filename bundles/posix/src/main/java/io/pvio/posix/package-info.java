/**
 * The POSIX calls that the JDK lacks and vhost-user needs (Linux, x86_64/aarch64 LP64), through JNA:
 * Unix stream sockets that pass file descriptors (SCM_RIGHTS), eventfds, memfds, shared mappings with
 * bounds-checked views, and CPU affinity. Errors are {@link io.pvio.posix.PosixException}s with errno.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package io.pvio.posix;
