#!/bin/sh
# Venus OS unpacks a venus-data.tar.gz it finds on a USB stick or SD card into /data at boot
# (/etc/init.d/update-data.sh). The archive's rc/ directory is not unpacked into /data: its
# rc/pre-hook.sh runs before and this rc/post-hook.sh after the rest is unpacked. This one
# installs venus-modbusd beside the stock server (port 5020), as `setup install` does from a shell.
# VMD_GX_ROOT stands in for / in tests (tests/field/gx-bundle-test.sh); it is unset on a device.
setup=${VMD_GX_ROOT:-}/data/venus-modbusd/setup
if [ -f "$setup" ]; then
  sh "$setup" install
else
  echo "venus-modbusd: $setup is missing: the archive was not unpacked into /data" >&2
  exit 1
fi
