{
  # A shim so tools that expect node-gyp (prebuildify, `node-gyp rebuild`) still work: the one
  # build definition is CMakeLists.txt, built by cmake-js through scripts/build-native.mjs.
  "targets": [
    {
      "target_name": "apreqel",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_js",
          "inputs": ["<(module_root_dir)/CMakeLists.txt"],
          "outputs": ["<(PRODUCT_DIR)/apreqel.node"],
          "action": ["node", "<(module_root_dir)/scripts/build-native.mjs", "--out", "<(PRODUCT_DIR)/apreqel.node"]
        }
      ]
    }
  ]
}
