;;; gastown-transcript.el --- Live agent transcripts and the Mayor buffer  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; A transcript buffer shows an agent's tmux pane output as the server
;; streams it (`$/gastown/transcript' chunks carrying byte offsets),
;; with ANSI colours rendered.  Windows whose point is at the end
;; follow new output; scroll up and they stay put.  An input line at
;; the bottom nudges the agent with what you type.  `gastown-mayor'
;; opens the Mayor's transcript this way.

;;; Code:

(require 'gastown)
(require 'ring)

(declare-function vterm "ext:vterm" (&optional arg))
(declare-function vterm-send-string "ext:vterm" (string &optional paste-p))
(declare-function vterm-send-return "ext:vterm" ())
(declare-function eat "ext:eat" (&optional program arg))
(declare-function term-char-mode "term" ())
(declare-function term-mode "term" ())

(defgroup gastown-transcript nil
  "Live transcripts of Gas Town agents."
  :group 'gastown)

(defcustom gastown-transcript-backlog-lines 200
  "Lines of existing output shown when a transcript buffer opens."
  :type 'integer)

(defcustom gastown-transcript-max-chars 2000000
  "Trim a transcript buffer's oldest output beyond this many characters."
  :type 'integer)

(defcustom gastown-terminal 'auto
  "Terminal used to attach to an agent's tmux session.
`auto' uses vterm or eat when installed, else `ansi-term'."
  :type '(choice (const auto) (const vterm) (const eat) (const ansi-term)))

(defface gastown-transcript-prompt '((t :inherit minibuffer-prompt))
  "Face of the input prompt in transcript buffers.")

(defface gastown-transcript-gap '((t :inherit shadow :slant italic))
  "Face of the note shown where output was skipped.")

(defvar-local gastown-transcript-agent nil
  "Address of the agent whose transcript the buffer shows.")

(defvar-local gastown-transcript--offset nil
  "Byte offset in the agent's log just past the output shown.")

(defvar-local gastown-transcript--output-end nil
  "Marker at the end of the output, where the prompt starts.")

(defvar-local gastown-transcript--input-start nil
  "Marker at the start of the input line, after the prompt.")

(defvar-local gastown-transcript--history nil
  "Ring of inputs sent from this buffer.")

(defvar-local gastown-transcript--history-index nil
  "Position in `gastown-transcript--history' while browsing it.")

(defvar gastown-transcript-mode-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "RET") #'gastown-transcript-send-input)
    (define-key map (kbd "M-p") #'gastown-transcript-previous-input)
    (define-key map (kbd "M-n") #'gastown-transcript-next-input)
    (define-key map (kbd "C-c C-a") #'gastown-transcript-attach)
    (define-key map (kbd "C-c C-n") #'gastown-transcript-nudge)
    (define-key map (kbd "C-c C-e") #'gastown-transcript-goto-end)
    (define-key map (kbd "C-c C-r") #'gastown-transcript-reload)
    map)
  "Keymap of `gastown-transcript-mode'.")

(define-derived-mode gastown-transcript-mode fundamental-mode "Gastown-Transcript"
  "Major mode of an agent's live transcript.
Output streams in above the prompt; text typed after the prompt is
sent to the agent as a nudge with \\[gastown-transcript-send-input].

\\{gastown-transcript-mode-map}"
  (setq-local ansi-color-context nil)
  (setq-local scroll-conservatively 101)
  (setq-local header-line-format '(:eval (gastown-transcript--header)))
  (setq gastown-transcript--history (make-ring 50))
  (buffer-disable-undo)
  (add-hook 'kill-buffer-hook #'gastown-transcript--on-kill nil t))

(defun gastown-transcript--header ()
  "Header line of a transcript buffer."
  (concat (gastown-header-line) "  "
          (propertize (or gastown-transcript-agent "") 'face 'bold)
          (substitute-command-keys
           "   \\<gastown-transcript-mode-map>\\[gastown-transcript-send-input] \
nudge  \\[gastown-transcript-attach] attach")))

(defun gastown-transcript--on-kill ()
  "Stop the subscription of the buffer being killed."
  (when (and gastown-buffer-town gastown-transcript-agent
             (not (cl-some (lambda (b)
                             (and (not (eq b (current-buffer)))
                                  (equal (buffer-local-value 'gastown-transcript-agent b)
                                         gastown-transcript-agent)))
                           (gastown-buffers-of 'gastown-transcript-mode
                                               gastown-buffer-town))))
    (gastown-transcript-unsubscribe gastown-buffer-town gastown-transcript-agent)))

(defun gastown-transcript--setup-prompt ()
  "Insert the prompt and set the output and input markers."
  (let ((inhibit-read-only t))
    (erase-buffer)
    (setq gastown-transcript--output-end (copy-marker (point-min)))
    ;; The newline keeps the prompt off a last output line that has no
    ;; newline of its own (an agent's own prompt); it is hidden otherwise.
    (insert (propertize "\n" 'gastown-prompt-newline t 'invisible t
                        'read-only t 'front-sticky t 'rear-nonsticky t 'field 'prompt)
            (propertize (format "%s> " gastown-transcript-agent)
                        'face 'gastown-transcript-prompt
                        'read-only t 'front-sticky t 'rear-nonsticky t
                        'field 'prompt))
    (setq gastown-transcript--input-start (point-marker))
    ;; Output is inserted before the prompt; the prompt must move down.
    (set-marker-insertion-type gastown-transcript--output-end nil)))

(defun gastown-transcript--render (text)
  "Return pane output TEXT with colours as `face' properties.
`ansi-color-apply' sets `font-lock-face', which needs font-lock."
  (let* ((s (ansi-color-apply (gastown-filter-terminal text)))
         (i 0)
         (n (length s)))
    (while (< i n)
      (let ((next (next-single-property-change i 'font-lock-face s n))
            (face (get-text-property i 'font-lock-face s)))
        (when face (put-text-property i next 'face face s))
        (setq i next)))
    s))

(defun gastown-transcript-insert (text)
  "Insert TEXT (raw pane output) at the end of the transcript.
Windows whose point is at the end keep following it; the others
stay where they are."
  (let* ((end gastown-transcript--output-end)
         (old-end (marker-position end))
         (tailing (cl-loop for w in (get-buffer-window-list nil nil t)
                           when (= (window-point w) old-end) collect w))
         (point-tails (= (point) old-end))
         (clean (gastown-transcript--render text)))
    (save-excursion
      (let ((inhibit-read-only t))
        (goto-char end)
        (insert (propertize clean 'read-only t 'front-sticky t 'rear-nonsticky t))
        ;; The marker does not advance over text inserted at it.
        (set-marker end (point))
        (put-text-property end (1+ end) 'invisible
                           (or (= end (point-min)) (eq (char-before end) ?\n)))))
    (when point-tails (goto-char end))
    (dolist (w tailing) (set-window-point w end))
    (when (> (buffer-size) gastown-transcript-max-chars)
      (let ((inhibit-read-only t))
        (save-excursion
          (goto-char (- (buffer-size) (/ gastown-transcript-max-chars 2)))
          (forward-line 1)
          (delete-region (point-min) (min (point) end)))))))

(defun gastown-transcript--note (text)
  "Insert TEXT as a note (not agent output) into the transcript."
  (gastown-transcript-insert
   (propertize (concat "\n[" text "]\n") 'face 'gastown-transcript-gap)))

(defun gastown-transcript-accept (chunk)
  "Insert the transcript CHUNK (a notification plist) if it is new.
Offsets make duplicate or overlapping chunks harmless; a chunk
starting past what was shown records a gap; a chunk at offset 0
after more was shown means the log rotated."
  (let* ((offset (plist-get chunk :offset))
         (data (or (plist-get chunk :data) ""))
         (bytes (encode-coding-string data 'utf-8 t))
         (cur gastown-transcript--offset))
    (cond
     ((or (not (integerp offset)) (null cur))
      (gastown-transcript-insert data))
     ((and (= offset 0) (> cur 0) (plist-get chunk :rotated))
      (gastown-transcript--note "log rotated")
      (gastown-transcript-insert data))
     ((> offset cur)
      (gastown-transcript--note (format "%d bytes not shown" (- offset cur)))
      (gastown-transcript-insert data))
     ((>= (+ offset (length bytes)) cur)
      (gastown-transcript-insert
       (decode-coding-string (substring bytes (- cur offset)) 'utf-8)))
     ((= offset 0)
      ;; Rotation the server did not flag: a fresh, shorter log.
      (gastown-transcript--note "log restarted")
      (gastown-transcript-insert data)))
    (when (integerp offset)
      (let ((end (+ offset (length bytes))))
        (when (or (null cur) (> end cur) (= offset 0))
          (setq gastown-transcript--offset end))))))

(defun gastown-transcript--on-notification (town method params)
  "Route a `$/gastown/transcript' notification (METHOD, PARAMS) of TOWN."
  (when (eq method '$/gastown/transcript)
    (let ((agent (plist-get params :agent)))
      (dolist (buf (gastown-buffers-of 'gastown-transcript-mode town))
        (with-current-buffer buf
          (when (equal gastown-transcript-agent agent)
            (gastown-transcript-accept params)))))))

(add-hook 'gastown-notification-functions #'gastown-transcript--on-notification)

(defun gastown-transcript--load (town agent)
  "Fill the current buffer with AGENT's recent output and subscribe on TOWN."
  (let* ((tail (gastown-request 'agent/transcript
                                (list :agent agent :lines gastown-transcript-backlog-lines)
                                town))
         (text (if (stringp tail) tail (gastown-get tail :text :data :output)))
         (end (and (listp tail) (gastown-get tail :end :size))))
    (gastown-transcript--setup-prompt)
    (setq gastown-transcript--offset nil)
    (when (and text (not (string-empty-p text)))
      (gastown-transcript-insert text))
    (setq gastown-transcript--offset end)
    (let ((res (gastown-transcript-subscribe town agent end)))
      (when (and (listp res) (plist-get res :data))
        (gastown-transcript-accept res)))
    (goto-char (point-max))))

(defun gastown-transcript--reconnected (town)
  "Resume transcript buffers of TOWN after a reconnection."
  (dolist (buf (gastown-buffers-of 'gastown-transcript-mode town))
    (with-current-buffer buf
      ;; A buffer still loading has no prompt yet: nothing to note.
      (when gastown-transcript--output-end
        (gastown-transcript--note "reconnected")))))

(add-hook 'gastown-connected-functions #'gastown-transcript--reconnected)

;;;###autoload
(defun gastown-transcript (agent &optional town)
  "Show AGENT's live transcript in TOWN and return its buffer."
  (interactive (let ((town (gastown-current-town current-prefix-arg)))
                 (list (gastown-read-agent "Transcript of agent: " town) town)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "transcript" town agent)))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (and (derived-mode-p 'gastown-transcript-mode)
                   (equal gastown-transcript-agent agent)
                   (gastown-connected-p town))
        (gastown-transcript-mode)
        (setq gastown-buffer-town town
              gastown-transcript-agent agent)
        ;; An unknown agent must not leave an empty buffer behind.
        (condition-case err
            (gastown-transcript--load town agent)
          (error (kill-buffer buf)
                 (signal (car err) (cdr err))))))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

;;;###autoload
(defun gastown-mayor (&optional town)
  "Talk to the Mayor of TOWN: its live transcript with an input line.
With a prefix argument, ask for the town."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let ((buf (gastown-transcript "mayor" (or town (gastown-current-town)))))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-transcript-reload ()
  "Reload the transcript from the server and subscribe again."
  (interactive)
  (gastown-transcript--load gastown-buffer-town gastown-transcript-agent))

(defun gastown-transcript-goto-end ()
  "Go to the input line and follow the output again."
  (interactive)
  (goto-char (point-max)))

(defun gastown-transcript--input ()
  "Return the text typed after the prompt."
  (buffer-substring-no-properties gastown-transcript--input-start (point-max)))

(defun gastown-transcript--set-input (text)
  "Replace the input line with TEXT."
  (let ((inhibit-read-only t))
    (delete-region gastown-transcript--input-start (point-max))
    (goto-char (point-max))
    (insert text)))

(defun gastown-nudge (target message &optional town)
  "Type MESSAGE into TARGET agent's session in TOWN (a nudge)."
  (interactive (let ((town (gastown-current-town current-prefix-arg)))
                 (list (gastown-read-agent "Nudge agent: " town)
                       (read-string "Message: ") town)))
  (let* ((res (gastown-request 'nudge (list :agent target :message message) town))
         (status (and (listp res) (plist-get res :status))))
    (pcase status
      ("queued" (gastown-result "Gastown: %s is busy; nudge queued" target))
      ("failed" (gastown-result "Gastown: nudge to %s failed: %s" target
                              (gastown-str (plist-get res :reason))))
      (_ (gastown-result "Gastown: nudged %s" target)))
    res))

(defun gastown-transcript-send-input ()
  "Send the input line to the agent as a nudge.
With point in the output, move to the input line instead."
  (interactive)
  (if (< (point) gastown-transcript--input-start)
      (goto-char (point-max))
    (let ((text (string-trim (gastown-transcript--input))))
      (unless (string-empty-p text)
        (gastown-nudge gastown-transcript-agent text gastown-buffer-town)
        (ring-insert gastown-transcript--history text)
        (setq gastown-transcript--history-index nil)
        (gastown-transcript--set-input "")))))

(defun gastown-transcript-nudge (message)
  "Nudge this buffer's agent with MESSAGE read from the minibuffer."
  (interactive (list (read-string (format "Nudge %s: " gastown-transcript-agent))))
  (gastown-nudge gastown-transcript-agent message gastown-buffer-town))

(defun gastown-transcript-previous-input (n)
  "Put the Nth previous input on the input line."
  (interactive "p")
  (let ((len (ring-length gastown-transcript--history)))
    (when (> len 0)
      (setq gastown-transcript--history-index
            (mod (+ (or gastown-transcript--history-index -1) n) len))
      (gastown-transcript--set-input
       (ring-ref gastown-transcript--history gastown-transcript--history-index)))))

(defun gastown-transcript-next-input (n)
  "Put the Nth next input on the input line."
  (interactive "p")
  (gastown-transcript-previous-input (- n)))

;;;; Attaching a real terminal

(defun gastown-attach-command (agent &optional town)
  "Return the shell command (a list of strings) attaching to AGENT in TOWN."
  (let* ((res (gastown-request 'agent/attachCommand (list :agent agent) town))
         (argv (if (stringp res) nil (gastown-get res :argv :command :args))))
    (cond ((stringp res) (split-string-and-unquote res))
          ((stringp argv) (split-string-and-unquote argv))
          (t (gastown-seq argv)))))

(defun gastown-terminal-run (name argv)
  "Run ARGV in a terminal buffer called NAME and show it."
  (let ((kind (if (eq gastown-terminal 'auto)
                  (cond ((fboundp 'vterm) 'vterm)
                        ((fboundp 'eat) 'eat)
                        (t 'ansi-term))
                gastown-terminal))
        (cmd (mapconcat #'shell-quote-argument argv " ")))
    (pcase kind
      ('vterm (vterm name)
              (vterm-send-string (concat "exec " cmd))
              (vterm-send-return))
      ('eat (eat cmd t))
      (_ (require 'term)
         (let ((buf (apply #'make-term name (car argv) nil (cdr argv))))
           (with-current-buffer buf
             (term-mode)
             (term-char-mode))
           (pop-to-buffer buf))))))

(defun gastown-attach (agent &optional town)
  "Attach a terminal to AGENT's tmux session in TOWN."
  (interactive (let ((town (gastown-current-town current-prefix-arg)))
                 (list (gastown-read-agent "Attach to agent: " town) town)))
  (gastown-terminal-run (format "gastown-tmux: %s" agent)
                        (gastown-attach-command agent town)))

(defun gastown-transcript-attach ()
  "Attach a real terminal to this agent's tmux session."
  (interactive)
  (gastown-attach gastown-transcript-agent gastown-buffer-town))

;;;; Reading agent names

(defun gastown-agent-addresses (town)
  "Return the addresses of TOWN's agents."
  (mapcar (lambda (a) (gastown-get a :address :id :name))
          (gastown-result-items (gastown-request 'agent/list nil town) :agents :items)))

(defun gastown-read-agent (prompt town)
  "Read an agent address with PROMPT, completing from TOWN's agents."
  (completing-read prompt (gastown-agent-addresses town) nil nil))

(provide 'gastown-transcript)

;;; gastown-transcript.el ends here
