#!/usr/bin/env node
// `dodil …`: Ignite commands live under `dodil ignite`.
require("./launch.js").launch("dodil");
