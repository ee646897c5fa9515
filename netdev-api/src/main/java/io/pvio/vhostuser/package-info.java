/**
 * The vhost-user wire protocol's numbers (qemu docs/interop/vhost-user.rst), shared by pvio's back end and its
 * Java front end.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package io.pvio.vhostuser;
