#!/usr/bin/env node
// `ignite …`: the standalone binary, same commands as `dodil ignite …`.
require("./launch.js").launch("ignite");
