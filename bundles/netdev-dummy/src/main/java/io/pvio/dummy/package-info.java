/** Test ports reachable from tests and commands: the registry of open dummy and pktgen ports. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package io.pvio.dummy;
